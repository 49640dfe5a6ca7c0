/// A one-time console password: 144 random bits from the system's secure generator
/// (getrandom), as 24 base64url characters (SPICE allows 60). Its description is redacted, so
/// interpolating it into a log line or error message never leaks it.
public struct ConsoleTicket: Sendable, Hashable, CustomStringConvertible {
    /// The password itself: for the hypervisor and the `.vv` file only.
    public let secret: String

    public init(secret: String) { self.secret = secret }

    /// A fresh ticket.
    public static func mint() -> ConsoleTicket { ConsoleTicket(secret: SecureRandom.base64url(byteCount: 18)) }

    public var description: String { "<console ticket>" }
}

/// Where a desktop's SPICE display listens on its host (from its live definition).
public struct ConsoleEndpoint: Sendable, Hashable {
    /// The plain port; nil when the display is TLS only.
    public var port: Int?
    /// The TLS port; nil when the host has no SPICE TLS.
    public var tlsPort: Int?
    /// The browser (VNC) display's port; nil when the desktop has none (defined before
    /// browser consoles, or by a template that removed it).
    public var browserPort: Int?

    public init(port: Int?, tlsPort: Int?, browserPort: Int? = nil) {
        self.port = port
        self.tlsPort = tlsPort
        self.browserPort = browserPort
    }

    /// The SPICE display's ports.
    public var ports: Set<Int> { Set([port, tlsPort].compactMap { $0 }) }
}
