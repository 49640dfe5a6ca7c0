extension ConfigPolicySpec {
    /// The pool as this policy leaves it: desktop settings laid over the pool's, the console
    /// and session keys given, the sizes given; checked like a pool file (a `min` above the
    /// pool's `max`, say, is refused with the pool named).
    public func applied(to pool: PoolSpec) throws(DeskpoolError) -> PoolSpec {
        var changed = pool
        changed.desktop = pool.desktop.overlaid(with: desktop)
        if let console { changed.console = try console.applied(to: pool.console) }
        if let session { changed.session = try session.applied(to: pool.session) }
        if let sizes {
            changed.min = sizes.min ?? changed.min
            changed.max = sizes.max ?? changed.max
            if let spare = sizes.spare {
                changed.spare = spare
                changed.forecast = nil  // a number given: fixed spares
            }
            changed.savedSpare = sizes.saved ?? changed.savedSpare
        }
        if let schedule { changed.schedule = schedule }
        do {
            try changed.validate()
        } catch {
            throw DeskpoolError(.invalidInput, "pool \(pool.name): \(error.description)", field: "spec.set")
        }
        return changed
    }
}
