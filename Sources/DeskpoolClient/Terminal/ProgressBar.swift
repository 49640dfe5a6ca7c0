/// A one-line progress bar for standard error: `[#####.....] 3/5 ready, 2 provisioning`.
public struct ProgressBar: Sendable, Hashable {
    /// Cells between the brackets.
    public var width: Int

    public init(width: Int = 10) {
        self.width = max(1, width)
    }

    /// The bar for `done` of `total` (clamped), followed by the detail. A total of zero is
    /// a full bar.
    public func render(done: Int, total: Int, detail: String) -> String {
        let filled: Int
        if total <= 0 {
            filled = width
        } else {
            let clamped = min(max(done, 0), total)
            filled = clamped * width / total
        }
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
        return detail.isEmpty ? bar : "\(bar) \(detail)"
    }

    /// A bar for time: `elapsed` of `estimate` seconds, never full before the end (estimates
    /// are estimates), so it shows at most width-1 cells until `finished`.
    public func render(elapsed: Int, estimate: Int, detail: String) -> String {
        guard estimate > 0 else { return render(done: 0, total: 1, detail: detail) }
        let done = min(elapsed * width / estimate, width - 1)
        return render(done: done, total: width, detail: detail)
    }
}
