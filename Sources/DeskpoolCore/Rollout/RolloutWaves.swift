public import Foundation

/// The wave arithmetic of `RolloutMachine` (the update and config rules go in waves; commands
/// and checks run in one): the failure threshold, when a wave is through, the maintenance window, how
/// many desktops may be out of service at once, and when a warned user is logged off. Pure;
/// table-tested in `RolloutWavesTests`.
public struct RolloutWaves: Sendable {
    public var strategy: RolloutStrategy
    public var logoff: LogoffMode
    /// Desktops the rollout changes (percentages count these).
    public var total: Int
    public var now: Date

    public init(strategy: RolloutStrategy, logoff: LogoffMode, total: Int, now: Date) {
        self.strategy = strategy
        self.logoff = logoff
        self.total = total
        self.now = now
    }

    /// Failed desktops that halt the rollout (at least 1).
    public var threshold: Int { max(1, strategy.failureThreshold.resolve(of: total)) }

    /// Desktops that may be out of service at once (at least 1).
    public var maxUnavailable: Int { max(1, strategy.maxUnavailable.resolve(of: total)) }

    /// Whether new changes may start now (always, without a window).
    public var inWindow: Bool { strategy.window.map { $0.contains(now) } ?? true }

    /// Why the rollout halts with `failed` failed desktops, or nil when it goes on.
    public func halt(failed: Int, what: String) -> String? {
        failed >= threshold ? "\(failed) desktop(s) \(what) (threshold \(threshold))" : nil
    }

    /// Whether every item of `wave` is through (`counts` says which statuses are).
    public static func isThrough(wave: Int, items: [RolloutItem], status: (RolloutItem) -> RolloutItem.Status,
                                 counts: (RolloutItem.Status) -> Bool) -> Bool {
        items.filter { $0.wave == wave }.allSatisfy { counts(status($0)) }
    }

    /// What comes after a wave that is through: the next wave, or the end when every item is
    /// settled. Nil: every wave is through and desktops in use are still to log off.
    public enum Next: Sendable, Hashable {
        case wave(Int)
        case finish
    }

    public static func next(after wave: Int, of waves: Int, items: [RolloutItem], status: (RolloutItem) -> RolloutItem.Status) -> Next? {
        if wave + 1 < waves { return .wave(wave + 1) }
        if items.allSatisfy({ status($0).isSettled }) { return .finish }
        return nil
    }

    /// Whether a user warned at `warnedAt` is logged off now (`forceAfter`, grace period over).
    public func forceLogoffDue(warnedAt: Date?) -> Bool {
        guard case .forceAfter(let seconds, _) = logoff, let warnedAt else { return false }
        return now.timeIntervalSince(warnedAt) >= TimeInterval(seconds)
    }

    /// The message shown to a user before a forced logoff (nil: nobody is forced).
    public var warning: String? {
        guard case .forceAfter(let seconds, let message) = logoff else { return nil }
        let minutes = max(1, (seconds + 59) / 60)
        return message.replacingOccurrences(of: "{minutes}", with: String(minutes))
    }
}
