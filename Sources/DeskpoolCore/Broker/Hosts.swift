/// The broker's hosts, built once: each host's hypervisor and configuration by name.
public struct Hosts: Sendable {
    /// Each host's hypervisor, by host name.
    public let byName: [String: any Hypervisor]
    /// Each host's configuration (console addresses, SPICE TLS), by host name.
    public let configurations: [String: HostConfiguration]
    /// The configured hosts, in the configuration's order.
    public let configured: [HostConfiguration]

    /// - Parameter configurations: default: one per hypervisor, at the test driver's URI.
    public init(_ hypervisors: [any Hypervisor], configurations: [HostConfiguration]? = nil) {
        self.byName = Dictionary(hypervisors.map { ($0.host, $0) }, uniquingKeysWith: { a, _ in a })
        let configurations = configurations ?? hypervisors.map { HostConfiguration(name: $0.host, uri: "test:///default") }
        self.configurations = Dictionary(configurations.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.configured = configurations
    }

    public subscript(name: String) -> (any Hypervisor)? { byName[name] }

    /// The hypervisors, by host name.
    public var all: [any Hypervisor] { byName.keys.sorted().compactMap { byName[$0] } }

    /// Whether each host is connected now: a ready desktop on a host that is away is not
    /// handed out, since its console could not be opened.
    public func connectedness() -> [String: Bool] { byName.mapValues(\.status.isConnected) }
}
