public import DeskpoolCore

/// Waiting for a desktop being prepared (`202 Preparing`): when to ask again and what to show.
public enum PreparingProgress {
    /// When to poll again: after `Retry-After` (else the estimate), but never later than 2 s
    /// and never sooner than half a second.
    public static func pollDelay(retryAfterSeconds: Int?, estimateSeconds: Int) -> Duration {
        let seconds = Double(retryAfterSeconds ?? estimateSeconds)
        return .milliseconds(Int(min(2.0, max(0.5, seconds)) * 1000))
    }

    /// `[###.......] preparing tiny-003 (starting), about 35 s left`: the bar fills with the
    /// time waited against the time waited plus the broker's latest estimate.
    public static func line(_ answer: PreparingAnswer, elapsedSeconds: Int, bar: ProgressBar = ProgressBar()) -> String {
        let left = max(0, answer.estimateSeconds)
        let eta = left > 0 ? "about \(left) s left" : "any moment now"
        return bar.render(elapsed: elapsedSeconds, estimate: elapsedSeconds + left,
                          detail: "preparing \(answer.desktop.name) (\(answer.desktop.state.rawValue)), \(eta)")
    }
}
