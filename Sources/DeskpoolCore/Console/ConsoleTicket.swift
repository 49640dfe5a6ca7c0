/// A one-time console password: 144 random bits from the system's secure generator
/// (getrandom), as 24 base64url characters (SPICE allows 60). Its description is redacted, so
/// interpolating it into a log line or error message never leaks it.
public struct ConsoleTicket: Sendable, Hashable, CustomStringConvertible {
    /// The password itself: for the hypervisor and the `.vv` file only.
    public let secret: String

    public init(secret: String) { self.secret = secret }

    /// A fresh ticket.
    public static func mint() -> ConsoleTicket {
        var generator = SystemRandomNumberGenerator()  // documented as cryptographically secure
        let bytes = (0..<18).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return ConsoleTicket(secret: base64url(bytes))
    }

    public var description: String { "<console ticket>" }

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Base64url without padding (18 bytes give exactly 24 characters).
    static func base64url(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var index = 0
        while index + 3 <= bytes.count {
            let n = Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
            out += [alphabet[n >> 18 & 63], alphabet[n >> 12 & 63], alphabet[n >> 6 & 63], alphabet[n & 63]]
            index += 3
        }
        precondition(index == bytes.count, "tickets are a multiple of 3 bytes")
        return String(decoding: out, as: UTF8.self)
    }
}

/// Where a desktop's SPICE display listens on its host (from its live definition).
public struct ConsoleEndpoint: Sendable, Hashable {
    /// The plain port; nil when the display is TLS only.
    public var port: Int?
    /// The TLS port; nil when the host has no SPICE TLS.
    public var tlsPort: Int?

    public init(port: Int?, tlsPort: Int?) {
        self.port = port
        self.tlsPort = tlsPort
    }

    public var ports: Set<Int> { Set([port, tlsPort].compactMap { $0 }) }
}
