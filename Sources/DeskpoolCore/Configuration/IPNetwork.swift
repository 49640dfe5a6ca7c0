import Foundation

/// An IPv4 or IPv6 network in CIDR form (`10.0.0.0/8`, `fd00::/8`); a bare address is a
/// network of one.
public struct IPNetwork: Sendable, Hashable, Decodable, CustomStringConvertible {
    public let base: Address
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let base = Address(String(parts[0])) else { return nil }
        let maximum = base.bytes.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...maximum).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = maximum
        }
        self.base = base
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let network = IPNetwork(text) else { throw decoder.invalid("'\(text)' is not a network such as 10.0.0.0/8") }
        self = network
    }

    public var description: String { "\(base)/\(prefixLength)" }

    public func contains(_ address: Address) -> Bool {
        guard address.bytes.count == base.bytes.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(address.bytes, base.bytes) where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if a & mask != b & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// An IP address (4 or 16 bytes), parsed with inet_pton.
    public struct Address: Sendable, Hashable, CustomStringConvertible {
        public let bytes: [UInt8]
        public let description: String

        /// Parses an address; "[v6]" brackets and a trailing ":port" on IPv4 are not accepted.
        public init?(_ text: String) {
            var v4 = in_addr()
            var v6 = in6_addr()
            if inet_pton(AF_INET, text, &v4) == 1 {
                bytes = withUnsafeBytes(of: v4) { Array($0) }
            } else if inet_pton(AF_INET6, text, &v6) == 1 {
                bytes = withUnsafeBytes(of: v6) { Array($0) }
            } else {
                return nil
            }
            description = text
        }
    }
}
