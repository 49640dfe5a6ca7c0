/// Secrets from the system's secure generator (getrandom), as base64url text.
public enum SecureRandom {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// `byteCount` random bytes (a multiple of 3, so no padding) as base64url: 4 characters
    /// per 3 bytes.
    public static func base64url(byteCount: Int) -> String {
        precondition(byteCount % 3 == 0, "a multiple of 3 bytes")
        var generator = SystemRandomNumberGenerator()  // documented as cryptographically secure
        return base64url((0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// Base64url without padding of a multiple of 3 bytes.
    static func base64url(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var index = 0
        while index + 3 <= bytes.count {
            let n = Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
            out += [alphabet[n >> 18 & 63], alphabet[n >> 12 & 63], alphabet[n >> 6 & 63], alphabet[n & 63]]
            index += 3
        }
        precondition(index == bytes.count, "a multiple of 3 bytes")
        return String(decoding: out, as: UTF8.self)
    }
}
