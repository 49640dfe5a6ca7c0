public import Foundation
import Crypto

/// What the SPICE gateway needs to let one client reach one desktop's console: the desktop,
/// the session it was issued for, and when it stops being accepted; signed with the broker's
/// secret (HMAC-SHA256), so the gateway trusts nothing else the client says.
///
/// It travels as the `.vv` file's `host`, which remote-viewer passes unresolved in its HTTP
/// CONNECT requests, so its text form is host-name safe: lower-case base32 in dot-separated
/// labels of at most 60 characters.
public struct ConnectToken: Sendable, Hashable {
    public var desktop: String
    public var session: String
    public var expires: Date

    public init(desktop: String, session: String, expires: Date) {
        self.desktop = desktop
        self.session = session
        self.expires = expires
    }

    /// Why a token is refused; the gateway answers 403 and logs the reason.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case malformed
        case badSignature
        case expired

        public var description: String {
            switch self {
            case .malformed: "malformed connect token"
            case .badSignature: "connect token not signed by this broker"
            case .expired: "connect token expired"
            }
        }
    }

    static let formatVersion: UInt8 = 1
    static let macLength = 16

    /// The token's text form, signed with `key`.
    public func signed(with key: ConnectTokenKey) -> String {
        var payload = [Self.formatVersion]
        let seconds = UInt32(clamping: Int(expires.timeIntervalSince1970.rounded(.up)))
        withUnsafeBytes(of: seconds.bigEndian) { payload.append(contentsOf: $0) }
        Self.appendID(desktop, to: &payload)
        Self.appendID(session, to: &payload)
        payload.append(contentsOf: key.mac(payload).prefix(Self.macLength))
        return Self.labels(Base32.encode(payload))
    }

    /// Checks the signature and the expiry of a token's text form (as received, dots and case
    /// as the client sent them).
    public static func verify(_ text: String, key: ConnectTokenKey, now: Date) throws(Refusal) -> ConnectToken {
        guard text.utf8.count <= 400, let bytes = Base32.decode(text.replacingOccurrences(of: ".", with: "").lowercased()),
              bytes.count > 1 + 4 + macLength, bytes[0] == formatVersion
        else { throw .malformed }
        let payload = Array(bytes.dropLast(macLength))
        let mac = Array(bytes.suffix(macLength))
        guard key.isValid(mac: mac, for: payload) else { throw .badSignature }
        var cursor = 5
        let seconds = payload[1..<5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard let desktop = readID(payload, &cursor), let session = readID(payload, &cursor), cursor == payload.count else {
            throw .malformed
        }
        let token = ConnectToken(desktop: desktop, session: session, expires: Date(timeIntervalSince1970: TimeInterval(seconds)))
        guard token.expires > now else { throw .expired }
        return token
    }

    /// A lower-case UUID takes 16 bytes (flag 0x80); any other id its UTF-8 bytes (< 128).
    private static func appendID(_ id: String, to bytes: inout [UInt8]) {
        if let uuid = UUID(uuidString: id), uuid.uuidString.lowercased() == id {
            bytes.append(0x80)
            withUnsafeBytes(of: uuid.uuid) { bytes.append(contentsOf: $0) }
        } else {
            let utf8 = Array(id.utf8.prefix(127))
            bytes.append(UInt8(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    private static func readID(_ bytes: [UInt8], _ cursor: inout Int) -> String? {
        guard cursor < bytes.count else { return nil }
        let flag = bytes[cursor]
        cursor += 1
        let length = flag == 0x80 ? 16 : Int(flag)
        guard flag == 0x80 || flag < 0x80, cursor + length <= bytes.count else { return nil }
        let slice = Array(bytes[cursor..<cursor + length])
        cursor += length
        if flag == 0x80 {
            let uuid = slice.withUnsafeBytes { raw in raw.loadUnaligned(as: uuid_t.self) }
            return UUID(uuid: uuid).uuidString.lowercased()
        }
        return String(validating: slice, as: UTF8.self)
    }

    private static func labels(_ text: String) -> String {
        var labels: [Substring] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            labels.append(rest.prefix(60))
            rest = rest.dropFirst(60)
        }
        return labels.joined(separator: ".")
    }
}

/// The broker's secret for connect tokens: 32 random bytes, kept in the state directory
/// (`console-token.key`, mode 0600) so tokens survive a restart and every broker replica
/// sharing the directory accepts them.
public struct ConnectTokenKey: Sendable {
    let key: SymmetricKey

    public init(bytes: some Collection<UInt8>) { key = SymmetricKey(data: Array(bytes)) }

    /// A fresh random key (tests, or a broker without a state directory).
    public static func random() -> ConnectTokenKey { ConnectTokenKey(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }) }

    /// Reads the key file, creating it (0600) with a fresh key if it does not exist.
    public static func load(orCreateAt path: String) throws(DeskpoolError) -> ConnectTokenKey {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count >= 32 else { throw DeskpoolError(.invalidInput, "\(path) holds \(data.count) bytes; a connect-token key has 32 (delete it to make a new one)") }
            return ConnectTokenKey(bytes: data)
        }
        let fresh = random()
        let bytes = fresh.key.withUnsafeBytes { Data($0) }
        guard FileManager.default.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
            throw DeskpoolError(.invalidInput, "cannot create the connect-token key \(path)")
        }
        return fresh
    }

    func mac(_ bytes: [UInt8]) -> [UInt8] { Array(HMAC<SHA256>.authenticationCode(for: bytes, using: key)) }

    func isValid(mac: [UInt8], for bytes: [UInt8]) -> Bool {
        // Constant time: compare every byte whatever the first difference.
        let expected = self.mac(bytes).prefix(mac.count)
        return expected.count == mac.count && zip(expected, mac).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// RFC 4648 base32, lower case, no padding.
enum Base32 {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer = 0, bits = 0
        for byte in bytes {
            buffer = buffer << 8 | Int(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
            buffer &= (1 << bits) - 1
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for c in text.utf8 {
            let value: Int
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = Int(c - UInt8(ascii: "a"))
            case UInt8(ascii: "2")...UInt8(ascii: "7"): value = Int(c - UInt8(ascii: "2")) + 26
            default: return nil
            }
            buffer = buffer << 5 | value
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xff))
                bits -= 8
                buffer &= (1 << bits) - 1
            }
        }
        return out
    }
}
