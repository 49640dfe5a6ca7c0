extension ReconcilerService {
    /// The host for one more desktop of `pool` (`Placement`'s rule over the hosts' capacity
    /// now), for a user's reservation. A host that is away, or back but not yet through its
    /// recovery pass, takes nothing.
    public func place(_ pool: PoolSpec) async -> String? {
        let memoryMiB = (try? await store.template(named: pool.template))?.memoryMiB ?? 0
        let inService = hypervisors.filter { $0.value.status.inService }.keys
        var candidates: [Placement.Candidate] = []
        for host in Placement.allowed(for: pool, among: inService) {
            guard let capacity = try? await hypervisors[host]?.capacity() else { continue }
            candidates.append(Placement.Candidate(name: host, freeMemoryMiB: capacity.freeMemoryMiB))
        }
        // A host this broker drives first: the desktop starts at once, not at its host
        // replica's next pass.
        let mine = candidates.filter { ownership.holding(.host($0.name)) != nil }
        return Placement.choose(memoryMiB: memoryMiB, among: mine) ?? Placement.choose(memoryMiB: memoryMiB, among: candidates)
    }
}
