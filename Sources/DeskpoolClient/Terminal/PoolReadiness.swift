public import DeskpoolCore

/// How far a pool is from its size, from its spec and capacity, the way the reconciler sees it:
/// it keeps `min(max, max(min, held + spare + saved))` desktops, `held` of them with users, so
/// the rest should be spares: ready, or saved to disk. (With `spare: auto` the running spares
/// follow the broker's forecast, which the client does not see: the target counts none.)
public struct PoolReadiness: Sendable, Hashable {
    /// Spares now: ready desktops, and saved ones.
    public var ready: Int
    /// Of them, saved to disk.
    public var saved: Int
    /// Ready desktops the pool is heading for.
    public var target: Int
    public var provisioning: Int
    public var failed: Int

    public init(_ pool: PoolView) {
        let capacity = pool.capacity
        let held = capacity.assigned + capacity.connected + capacity.disconnected
        let running = pool.spec.forecast == nil ? pool.spec.spare : 0
        let wanted = Swift.min(pool.spec.max, Swift.max(pool.spec.min, held + running + pool.spec.savedSpare))
        ready = capacity.ready + capacity.saved
        saved = capacity.saved
        target = Swift.max(0, wanted - held)
        provisioning = capacity.provisioning
        failed = capacity.failed
    }

    /// The pool has as many ready desktops as it is meant to.
    public var isReached: Bool { ready == target }

    /// `3/5 ready, 2 provisioning, 1 failed` (zero counts left out).
    public var summary: String {
        var parts = ["\(ready)/\(target) ready" + (saved > 0 ? " (\(saved) saved)" : "")]
        if provisioning > 0 { parts.append("\(provisioning) provisioning") }
        if failed > 0 { parts.append("\(failed) failed") }
        return parts.joined(separator: ", ")
    }

    /// The progress line: `[######....] 3/5 ready, 2 provisioning`.
    public func line(_ bar: ProgressBar = ProgressBar()) -> String {
        bar.render(done: ready, total: target, detail: summary)
    }
}
