/// The broker's answer to the gateway: a token's desktop, if the token's session is still
/// that desktop's session, with where its console listens now and the pool's channel rules.
public struct StoreConsoleDirectory: ConsoleDirectory {
    let store: any Store
    let hypervisors: [String: any Hypervisor]
    let hosts: [String: HostConfiguration]

    public init(store: any Store, hypervisors: [any Hypervisor], hosts: [HostConfiguration]) {
        self.init(store: store, hosts: Hosts(hypervisors, configurations: hosts))
    }

    public init(store: any Store, hosts: Hosts) {
        self.store = store
        self.hypervisors = hosts.byName
        self.hosts = hosts.configurations
    }

    public func route(for token: ConnectToken) async throws(DeskpoolError) -> ConsoleRoute {
        guard let desktop = try await store.desktop(id: token.desktop) else {
            throw DeskpoolError(.notFound, "no desktop \(token.desktop)")
        }
        guard desktop.state.isInSession, desktop.sessionID == token.session else {
            throw DeskpoolError(.conflict, "the session of this token has ended on desktop \(desktop.name)")
        }
        guard let pool = try await store.pool(named: desktop.pool) else { throw DeskpoolError(.notFound, "no pool \(desktop.pool)") }
        guard let hypervisor = hypervisors[desktop.host], let host = hosts[desktop.host] else {
            throw DeskpoolError(.notFound, "host \(desktop.host) is not configured")
        }
        let endpoint = try await hypervisor.consoleEndpoint(ofDesktop: desktop.name)
        return ConsoleRoute(desktop: desktop.name, pool: pool.name, address: host.consoleReachableAddress, ports: endpoint.ports,
                            forbiddenChannels: pool.console.forbiddenChannels)
    }
}
