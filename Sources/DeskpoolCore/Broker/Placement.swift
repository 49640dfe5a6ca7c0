/// Where one more desktop goes: the one placement rule, for the reconciler's refills and a
/// user's reservation alike. Pure.
public enum Placement {
    /// A host that may take desktops, with the memory it has free for them.
    public struct Candidate: Sendable, Hashable {
        public var name: String
        public var freeMemoryMiB: Int

        public init(name: String, freeMemoryMiB: Int) {
            self.name = name
            self.freeMemoryMiB = freeMemoryMiB
        }
    }

    /// The hosts `pool` allows among `inService` (the pool's `hosts`, or all), by name.
    public static func allowed(for pool: PoolSpec, among inService: some Sequence<String>) -> [String] {
        let hosts = Set(inService)
        return (pool.hosts.isEmpty ? Array(hosts) : pool.hosts.filter { hosts.contains($0) }).sorted()
    }

    /// The candidate with the most free memory that fits `memoryMiB` (ties: the first name),
    /// or nil when none has room.
    public static func choose(memoryMiB: Int, among candidates: [Candidate]) -> String? {
        candidates
            .filter { $0.freeMemoryMiB >= memoryMiB }
            .max { ($0.freeMemoryMiB, $1.name) < ($1.freeMemoryMiB, $0.name) }?
            .name
    }
}
