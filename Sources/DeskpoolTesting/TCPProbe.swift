import Foundation

/// Opens and closes a plain TCP connection, e.g. to make a SPICE server report a client.
public enum TCPProbe {
    /// Connects to `host:port` (IPv4), optionally sends `bytes`, waits `hold`, then closes.
    public static func touch(host: String, port: Int, sending bytes: [UInt8] = [], hold: Duration = .milliseconds(200)) async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw POSIXError(.init(rawValue: errno) ?? .ECONNREFUSED) }
        if !bytes.isEmpty { _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } }
        try await Task.sleep(for: hold)
    }
}
