extension ReconcilerService {
    /// The host for one more desktop of `pool`: among the hosts it allows, the one with the
    /// most free memory, if it has room for the template's memory. For the session broker.
    /// A host that is away, or back but not yet through its recovery pass, takes nothing.
    public func place(_ pool: PoolSpec) async -> String? {
        let memoryMiB = (try? await store.template(named: pool.template))?.memoryMiB ?? 0
        let allowed = pool.hosts.isEmpty ? Array(hypervisors.keys) : pool.hosts
        var best: (host: String, free: Int)?
        for host in allowed.sorted() {
            guard let hypervisor = hypervisors[host], hypervisor.status.inService, let capacity = try? await hypervisor.capacity() else { continue }
            if capacity.freeMemoryMiB >= memoryMiB, capacity.freeMemoryMiB > best?.free ?? Int.min {
                best = (host, capacity.freeMemoryMiB)
            }
        }
        return best?.host
    }
}
