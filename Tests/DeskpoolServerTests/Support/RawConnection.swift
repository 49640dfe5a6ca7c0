import DeskpoolTesting
import DeskpoolTestRigs
import Foundation

/// A TCP client on loopback for tests of what the server does with a connection, below HTTP:
/// slow heads, dripping bodies, connection caps. Its socket calls block, so each runs through
/// `blocking`, off the cooperative pool the server under test needs.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = try TCPProbe.connected(host: "127.0.0.1", port: port)
    }

    deinit { close(fd) }

    /// Sends `text`; false when the server has closed the connection.
    @discardableResult
    func send(_ text: String) async -> Bool {
        await blocking { self.sendNow(text) }
    }

    func closedByServer(within seconds: Double) async -> Bool {
        await blocking { self.closedNow(within: seconds) }
    }

    func responseStatusLine(timeout: Double = 5) async -> String {
        await blocking { self.statusLineNow(timeout: timeout) }
    }

    /// Sends `piece(i)` every 0.3 s, `count` times at most, while the server keeps the
    /// connection; returns the seconds until it closed it, or nil when it never did.
    func dripUntilClosed(count: Int, _ piece: @escaping @Sendable (Int) -> String) async -> Double? {
        await blocking {
            let started = Date()
            for index in 0..<count {
                if !self.sendNow(piece(index)) || self.closedNow(within: 0.3) { return Date().timeIntervalSince(started) }
            }
            return nil
        }
    }

    private func sendNow(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } >= 0
    }

    /// Whether the server closes the connection within `seconds` (reading and dropping what it
    /// sends meanwhile).
    private func closedNow(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var time = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR { return true }
        }
        return false
    }

    /// Reads until a complete response head arrives; returns its status line ("" when closed).
    private func statusLineNow(timeout: Double) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline, !String(decoding: answer, as: UTF8.self).contains("\r\n\r\n") {
            var time = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            if count > 0 { answer += buffer[0..<count] }
        }
        return String(decoding: answer, as: UTF8.self).components(separatedBy: "\r\n").first ?? ""
    }
}

