import Synchronization

/// Where the SPICE gateway may take a client holding a valid connect token: the desktop's
/// console address and ports as they are now, and what the pool's console policy forbids.
/// The broker answers from the store and the hypervisor; the gateway refuses anything else.
public protocol ConsoleDirectory: Sendable {
    /// The route for a verified token, or an error when the token's session is no longer the
    /// desktop's (logged off, refreshed, reassigned) or the desktop has no console.
    func route(for token: ConnectToken) async throws(DeskpoolError) -> ConsoleRoute
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

    public init(desktop: String, pool: String, address: String, ports: Set<Int>, forbiddenChannels: Set<SpiceChannel>) {
        self.desktop = desktop
        self.pool = pool
        self.address = address
        self.ports = ports
        self.forbiddenChannels = forbiddenChannels
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
