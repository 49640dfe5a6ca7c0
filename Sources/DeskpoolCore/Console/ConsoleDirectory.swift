import Synchronization

/// Where the SPICE gateway may take a client holding a valid connect token: the desktop's
/// console address and ports as they are now, and what the pool's console policy forbids.
/// The broker answers from the store and the hypervisor; the gateway refuses anything else.
public protocol ConsoleDirectory: Sendable {
    /// The route for a verified token, or an error when the token's session is no longer the
    /// desktop's (logged off, refreshed, reassigned) or the desktop has no console.
    func route(for token: ConnectToken) async throws(DeskpoolError) -> ConsoleRoute
    /// See the extension's default.
    func endedSessions(among tokens: [ConnectToken]) async -> Set<ConnectToken>
}

public struct ConsoleRoute: Sendable, Hashable {
    /// The desktop's name, for logs.
    public var desktop: String
    public var pool: String
    /// The address the desktop's SPICE display listens on, as the gateway reaches it.
    public var address: String
    /// The display's plain and TLS ports: a CONNECT to any other port is refused.
    public var ports: Set<Int>
    /// Channel types the pool's console policy forbids (refused on plaintext ports).
    public var forbiddenChannels: Set<SpiceChannel>
    /// The browser (VNC) display's port, when the desktop has one and its pool allows
    /// browser consoles: the only port the WebSocket relay reaches.
    public var browserPort: Int?

    public init(desktop: String, pool: String, address: String, ports: Set<Int>, forbiddenChannels: Set<SpiceChannel>,
                browserPort: Int? = nil) {
        self.desktop = desktop
        self.pool = pool
        self.address = address
        self.ports = ports
        self.forbiddenChannels = forbiddenChannels
        self.browserPort = browserPort
    }
}

extension ConsoleDirectory {
    /// The tokens among `tokens` whose session is over (logged off, moved, the desktop gone):
    /// the gateway closes their browser consoles, which the display itself cannot drop. This
    /// default asks for each token's route; a directory with a cheaper way overrides it.
    public func endedSessions(among tokens: [ConnectToken]) async -> Set<ConnectToken> {
        var ended: Set<ConnectToken> = []
        for token in tokens {
            do throws(DeskpoolError) {
                _ = try await route(for: token)
            } catch where error.code == .notFound || error.code == .conflict {
                ended.insert(token)
            } catch {
                continue  // the store or host is unreachable: nothing is known to be over
            }
        }
        return ended
    }
}

/// Which real client is behind each of the gateway's outgoing console connections. libvirt's
/// graphics events name the connection's remote end, which for a tunnelled channel is the
/// gateway's own socket; the session tracker looks the real client up here.
public final class ClientAddressBook: Sendable {
    private let entries = Mutex<[String: String]>([:])

    public init() {}

    /// Records that the gateway's socket `local` ("ip:port", as the hypervisor sees it)
    /// carries `client`'s channel.
    public func record(gatewaySocket local: String, client: String) { entries.withLock { $0[local] = client } }
    public func forget(gatewaySocket local: String) { entries.withLock { _ = $0.removeValue(forKey: local) } }
    /// The real client behind `remote`, or `remote` itself when it is not the gateway's.
    public func client(behind remote: String) -> String { entries.withLock { $0[remote] } ?? remote }
}
