import Foundation
import Synchronization

/// A socket that relays every connection to another one (`target`), and that a test can turn
/// against its clients: drop every connection (what a daemon's restart does to its clients),
/// refuse new ones (the daemon stopped), or stop relaying while keeping the sockets open (the
/// daemon frozen by SIGSTOP). A Unix socket to a Unix socket: with
/// `test+unix:///default?socket=<path>`, a libvirt client talks through it to the real
/// libvirtd and its test driver. A loopback TCP port to a TCP port: a PostgreSQL client
/// reaches the test cluster through it. Either way the test sees its client's keepalive,
/// close handling and reconnects work without disturbing the daemon the other tests use.
/// Threads and blocking calls: it never touches the cooperative pool.
public final class SocketProxy: Sendable {
    /// Where a side listens or is reached.
    public enum Endpoint: Sendable, Hashable {
        case unix(String)
        /// 127.0.0.1 and a port.
        case loopback(port: Int)
    }

    /// The Unix socket it listens on ("" for a TCP proxy).
    public let path: String
    /// The loopback port it listens on (0 for a Unix one).
    public let port: Int
    public let target: Endpoint
    private let listener: Int32
    private struct State {
        var refusing = false
        var frozen = false
        var closed = false
        /// Open relays: both sockets, and how many of their two pumps still run.
        var pairs: [Int: (client: Int32, upstream: Int32, pumps: Int)] = [:]
        var nextPair = 0
        var accepted = 0
    }
    private let state = Mutex(State())

    /// Listens on a fresh Unix socket in a private temporary directory, relaying to `target`.
    public convenience init(target: String) throws {
        try self.init(to: .unix(target))
    }

    /// Listens where `target` is reached: a fresh Unix socket in a private temporary directory
    /// for a Unix target, a free loopback port for a TCP one.
    public init(to target: Endpoint) throws {
        self.target = target
        let listening: Endpoint
        switch target {
        case .unix:
            let directory = NSTemporaryDirectory() + "deskpool-proxy-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            listening = .unix(directory + "/sock")
        case .loopback:
            listening = .loopback(port: 0)
        }
        let listener = Self.socket(for: listening)
        guard listener >= 0 else { throw ProxyError("socket: \(String(cString: strerror(errno)))") }
        guard Self.withAddress(listening, { bind(listener, $0, $1) }) == 0, listen(listener, 64) == 0 else {
            let message = String(cString: strerror(errno))
            close(listener)
            throw ProxyError("bind/listen \(listening): \(message)")
        }
        self.listener = listener
        switch listening {
        case .unix(let socketPath):
            path = socketPath
            port = 0
        case .loopback:
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
            }
            path = ""
            port = Int(UInt16(bigEndian: address.sin_port))
        }
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "socket-proxy-accept"
        thread.start()
    }

    /// Connections accepted so far (each libvirt connection attempt that got through).
    public var accepted: Int { state.withLock { $0.accepted } }

    /// Closes every relayed connection now (the daemon "restarted").
    public func dropAll() {
        // Under the lock: a pair's sockets are closed only once both pumps left, which they
        // do after taking the lock, so no descriptor here is closed (or reused) meanwhile.
        state.withLock { state in
            for pair in state.pairs.values {
                shutdown(pair.client, Int32(SHUT_RDWR))
                shutdown(pair.upstream, Int32(SHUT_RDWR))
            }
        }
    }

    /// While set, new connections are closed at once (the daemon is down).
    public func refuse(_ refusing: Bool) { state.withLock { $0.refusing = refusing } }

    /// While set, nothing is relayed in either direction, and new connections wait (the
    /// daemon is frozen): the bytes stay in the kernel's buffers until it is unset.
    public func freeze(_ frozen: Bool) { state.withLock { $0.frozen = frozen } }

    /// Connections relayed now.
    public var open: Int { state.withLock { $0.pairs.count } }

    /// Stops listening, lets the connections its clients are closing end by themselves (up to
    /// `grace`), then drops the rest. libvirt 9.0.0's daemon can crash (a segfault in
    /// `remoteClientFreePrivateCallbacks`) when a client's socket is cut while that client
    /// deregisters its event callbacks, which a client does as it closes: a test's teardown
    /// must not be that cut. (`dropAll()` is the cut, for the tests that want one.)
    public func stop(grace: Duration = .seconds(3)) {
        state.withLock {
            $0.closed = true
            $0.frozen = false  // frozen pumps let go, and see the sockets closed
        }
        let deadline = ContinuousClock.now + grace
        while open > 0, ContinuousClock.now < deadline { usleep(20_000) }
        dropAll()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        if !path.isEmpty {
            unlink(path)
            rmdir((path as NSString).deletingLastPathComponent)
        }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let (closed, refusing) = state.withLock { ($0.closed, $0.refusing) }
            if closed { close(client); return }
            if refusing { close(client); continue }
            while state.withLock({ $0.frozen && !$0.closed }) { usleep(20_000) }
            let upstream = Self.socket(for: target)
            guard upstream >= 0, Self.withAddress(target, { connect(upstream, $0, $1) }) == 0 else {
                if upstream >= 0 { close(upstream) }
                close(client)
                continue
            }
            let id = state.withLock { state in
                state.nextPair += 1
                state.pairs[state.nextPair] = (client, upstream, 2)
                state.accepted += 1
                return state.nextPair
            }
            for (from, to) in [(client, upstream), (upstream, client)] {
                let pump = Thread { [self] in self.pump(from: from, to: to, pair: id) }
                pump.name = "socket-proxy-pump"
                pump.start()
            }
        }
    }

    private func pump(from: Int32, to: Int32, pair: Int) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        defer {
            state.withLock { state in
                // One direction ended: end the other too; the last pump closes both sockets.
                shutdown(to, Int32(SHUT_RDWR))
                shutdown(from, Int32(SHUT_RDWR))
                guard var entry = state.pairs[pair] else { return }
                entry.pumps -= 1
                if entry.pumps == 0 {
                    state.pairs[pair] = nil
                    close(entry.client)
                    close(entry.upstream)
                } else {
                    state.pairs[pair] = entry
                }
            }
        }
        while true {
            while state.withLock({ $0.frozen }) { usleep(20_000) }
            let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            while state.withLock({ $0.frozen }) { usleep(20_000) }
            var sent = 0
            while sent < count {
                let wrote = buffer.withUnsafeBytes { send(to, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                if wrote < 0, errno == EINTR { continue }
                guard wrote > 0 else { return }
                sent += wrote
            }
        }
    }

    private static func socket(for endpoint: Endpoint) -> Int32 {
        switch endpoint {
        case .unix: Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        case .loopback: Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        }
    }

    private static func withAddress(_ endpoint: Endpoint, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        switch endpoint {
        case .unix(let path): return withAddress(path, body)
        case .loopback(let port):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    private static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return -1 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

public struct ProxyError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
