public import Foundation

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
