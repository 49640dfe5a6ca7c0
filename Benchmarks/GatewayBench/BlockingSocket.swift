// Linux only, like the broker's hosts.
import Glibc

/// A plain blocking TCP socket (IPv4): the benchmark's client and display ends, kept
/// as cheap as possible so that the gateway's cost is what the comparison shows.
struct BlockingSocket: Sendable {
    let fd: Int32

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
    }

    /// Connects to `host` (an IPv4 address), from the address `source` when given: loopback
    /// has all of 127/8, and spreading clients over several source addresses lets more
    /// connections than the ephemeral port range reach one port.
    static func connect(port: Int, host: String = "127.0.0.1", from source: String? = nil) throws -> BlockingSocket {
        var address = try ipv4(host, port: port)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        if let source {
            // The port is picked at connect, per destination, not reserved for every one at bind.
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_IP), IP_BIND_ADDRESS_NO_PORT, &one, socklen_t(MemoryLayout<Int32>.size))
            var local = try ipv4(source, port: 0)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { Glibc.close(fd); throw Failure("bind \(source)") }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { Glibc.close(fd); throw Failure("connect \(host):\(port)") }
        let socket = BlockingSocket(fd: fd)
        socket.setNoDelay()
        return socket
    }

    /// A listening socket on 127.0.0.1 and a free port.
    static func listen() throws -> (BlockingSocket, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, Glibc.listen(fd, 64) == 0 else { Glibc.close(fd); throw Failure("bind/listen") }
        return (BlockingSocket(fd: fd), Int(UInt16(bigEndian: address.sin_port)))
    }

    func accept() throws -> BlockingSocket {
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { throw Failure("accept") }
        let socket = BlockingSocket(fd: client)
        socket.setNoDelay()
        return socket
    }

    func setNoDelay() {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    func send(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let sent = Glibc.send(fd, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            guard sent > 0 else { throw Failure("send") }
            offset += sent
        }
    }

    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try send($0) }
    }

    /// Reads up to `buffer.count` bytes; 0 at end of stream.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = recv(fd, buffer.baseAddress, buffer.count, 0)
        guard count >= 0 else { throw Failure("recv") }
        return count
    }

    /// Reads `count` bytes, or fewer if the stream ends first.
    func receive(upTo count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while offset < count {
                let got = try receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]))
                guard got > 0 else { return }
                offset += got
            }
        }
        return Array(bytes[..<offset])
    }

    /// Reads exactly `count` bytes.
    func receive(exactly count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while offset < count {
                let got = try receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]))
                guard got > 0 else { throw Failure("unexpected end of stream") }
                offset += got
            }
        }
        return bytes
    }

    func close() { _ = Glibc.close(fd) }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        return address
    }

    private static func ipv4(_ host: String, port: Int) throws -> sockaddr_in {
        var address = loopback(port: port)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw BenchFailure("\(host) is not an IPv4 address") }
        return address
    }
}
