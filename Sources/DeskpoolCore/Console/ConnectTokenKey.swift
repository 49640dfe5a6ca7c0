import Foundation
import Crypto

/// The broker's secret for connect tokens: 32 random bytes, kept in the state directory
/// (`console-token.key`, mode 0600) so tokens survive a restart and every broker replica
/// sharing the directory accepts them.
public struct ConnectTokenKey: Sendable {
    let key: SymmetricKey

    public init(bytes: some Collection<UInt8>) { key = SymmetricKey(data: Array(bytes)) }

    /// A fresh random key (tests, or a broker without a state directory).
    public static func random() -> ConnectTokenKey { ConnectTokenKey(bytes: randomBytes()) }

    /// 32 fresh random bytes, a key's worth.
    public static func randomBytes() -> [UInt8] { SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) } }

    /// Reads the key file, creating it (0600) with a fresh key if it does not exist.
    public static func load(orCreateAt path: String) throws(DeskpoolError) -> ConnectTokenKey {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count >= 32 else { throw DeskpoolError(.invalidInput, "\(path) holds \(data.count) bytes; a connect-token key has 32 (delete it to make a new one)") }
            return ConnectTokenKey(bytes: data)
        }
        let fresh = random()
        // O_EXCL with mode 0600: the key is never readable by others, not even for a moment.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw DeskpoolError(.invalidInput, "cannot create the connect-token key \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let written = fresh.key.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == 32, fsync(descriptor) == 0 else {
            unlink(path)
            throw DeskpoolError(.invalidInput, "cannot write the connect-token key \(path): \(String(cString: strerror(errno)))")
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
