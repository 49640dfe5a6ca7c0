/// What `/readyz` answers: whether this broker can take work now, with each dependency's
/// state. Ready when the store takes writes and at least one host answers; `/healthz` stays
/// the liveness check (the process runs), so a load balancer sends new work elsewhere while a
/// broker waits for its store or hosts, without restarting it.
public struct Readiness: Sendable, Hashable, Codable {
    public struct Dependency: Sendable, Hashable, Codable {
        public var name: String
        public var ok: Bool
        /// Why not, when not ok (an error code and message safe for anyone to read).
        public var detail: String?

        public init(name: String, ok: Bool, detail: String? = nil) {
            self.name = name
            self.ok = ok
            self.detail = detail
        }
    }

    public var ready: Bool
    public var store: Dependency
    public var hosts: [Dependency]

    public init(store: Dependency, hosts: [Dependency]) {
        self.store = store
        self.hosts = hosts
        ready = store.ok && hosts.contains(where: \.ok)
    }
}

/// What `/healthz` answers: the process lives (always `ok`), and where each host's
/// connection stands (`connecting`, `connected`, `recovering`, `away`), for a look without
/// logging in. Readiness to take work is `/readyz`'s.
public struct Health: Sendable, Hashable, Codable {
    public var status = "ok"
    public var hosts: [String: HostStatus.State]

    public init(hosts: [String: HostStatus.State]) {
        self.hosts = hosts
    }
}
