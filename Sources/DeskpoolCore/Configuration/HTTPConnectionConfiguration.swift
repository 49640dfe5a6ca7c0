/// `http.connections`: how long a client may hold a connection without sending a request, and
/// how many connections the HTTP side keeps open, so that slow or many clients cannot hold
/// the broker's sockets and memory.
public struct HTTPConnectionConfiguration: Sendable, Hashable, Decodable {
    /// A connection that sends no new request for this long after its last response is closed.
    public var idleTimeoutSeconds: Int = 60
    /// A request's head (request line and headers) must be complete within this many seconds
    /// of its first byte (of the connection's opening, for the first request: a slow TLS
    /// handshake counts too).
    public var headerTimeoutSeconds: Int = 10
    /// A request's body must be complete within this many seconds of its head. Image uploads
    /// (admin only, bounded by `images.maxImageBytes`) are exempt; they are closed only when
    /// idle for `idleTimeoutSeconds`.
    public var bodyTimeoutSeconds: Int = 60
    /// Open connections in all; beyond it the broker stops accepting until one closes.
    public var maxConnections: Int = 2048
    /// Open connections from one client address; beyond it new ones are closed at once.
    /// Behind a reverse proxy every client has the proxy's address: raise it there.
    public var maxConnectionsPerAddress: Int = 256

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case idleTimeoutSeconds, headerTimeoutSeconds, bodyTimeoutSeconds, maxConnections, maxConnectionsPerAddress
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "http.connections")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        idleTimeoutSeconds = try c.decodeBounded(.idleTimeoutSeconds, 1...3600) ?? idleTimeoutSeconds
        headerTimeoutSeconds = try c.decodeBounded(.headerTimeoutSeconds, 1...300) ?? headerTimeoutSeconds
        bodyTimeoutSeconds = try c.decodeBounded(.bodyTimeoutSeconds, 1...3600) ?? bodyTimeoutSeconds
        maxConnections = try c.decodeBounded(.maxConnections, 1...1_000_000) ?? maxConnections
        maxConnectionsPerAddress = try c.decodeBounded(.maxConnectionsPerAddress, 1...1_000_000) ?? maxConnectionsPerAddress
    }
}
