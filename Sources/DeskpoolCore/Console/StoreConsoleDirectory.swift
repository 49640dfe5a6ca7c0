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
                            forbiddenChannels: pool.console.forbiddenChannels,
                            browserPort: pool.console.browser ? endpoint.browserPort : nil)
    }

    /// From the store alone (the display is not asked): a token's session is over when its
    /// desktop is gone, out of session, or in another session. Few tokens are read one by
    /// one, many with one read of every desktop.
    public func endedSessions(among tokens: [ConnectToken]) async -> Set<ConnectToken> {
        let ids = Set(tokens.map(\.desktop))
        var current: [String: Desktop] = [:]
        do throws(DeskpoolError) {
            if ids.count > 64 {
                for desktop in try await store.desktops(pool: nil, user: nil) where ids.contains(desktop.id) { current[desktop.id] = desktop }
            } else {
                for id in ids { current[id] = try await store.desktop(id: id) }
            }
        } catch {
            return []  // the store is unreachable: nothing is known to be over
        }
        return Set(tokens.filter { token in
            guard let desktop = current[token.desktop] else { return true }
            return !desktop.state.isInSession || desktop.sessionID != token.session
        })
    }
}
