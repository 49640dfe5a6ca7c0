public import DeskpoolCore

/// How far a pool is from its size, from its spec and capacity, the way the reconciler sees it:
/// it keeps `min(max, max(min, held + spare))` desktops, `held` of them with users, so the
/// rest should be ready.
public struct PoolReadiness: Sendable, Hashable {
    /// Ready desktops now.
    public var ready: Int
    /// Ready desktops the pool is heading for.
    public var target: Int
    public var provisioning: Int
    public var failed: Int

    public init(_ pool: PoolView) {
        let capacity = pool.capacity
        let held = capacity.assigned + capacity.connected + capacity.disconnected
        let wanted = Swift.min(pool.spec.max, Swift.max(pool.spec.min, held + pool.spec.spare))
        ready = capacity.ready
        target = Swift.max(0, wanted - held)
        provisioning = capacity.provisioning
        failed = capacity.failed
    }

    /// The pool has as many ready desktops as it is meant to.
    public var isReached: Bool { ready == target }

    /// `3/5 ready, 2 provisioning, 1 failed` (zero counts left out).
    public var summary: String {
        var parts = ["\(ready)/\(target) ready"]
        if provisioning > 0 { parts.append("\(provisioning) provisioning") }
        if failed > 0 { parts.append("\(failed) failed") }
        return parts.joined(separator: ", ")
    }

    /// The progress line: `[######....] 3/5 ready, 2 provisioning`.
    public func line(_ bar: ProgressBar = ProgressBar()) -> String {
        bar.render(done: ready, total: target, detail: summary)
    }
}
