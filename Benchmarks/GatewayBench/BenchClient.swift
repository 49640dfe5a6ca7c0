import Foundation

/// The benchmark's SPICE client: opens a channel directly to the display or through the
/// gateway (CONNECT with a token, as remote-viewer does), then measures.
struct BenchClient {
    /// Where channels go: the display's port, and the gateway's with a token when tunnelled.
    enum Path: CustomStringConvertible {
        case direct(displayPort: Int)
        case gateway(port: Int, token: String, displayPort: Int)

        var description: String {
            switch self {
            case .direct: "direct"
            case .gateway: "gateway"
            }
        }
    }

    let path: Path

    func open(channel: UInt8) throws -> BlockingSocket {
        let socket: BlockingSocket
        switch path {
        case .direct(let displayPort):
            socket = try BlockingSocket.connect(port: displayPort)
        case .gateway(let port, let token, let displayPort):
            socket = try BlockingSocket.connect(port: port)
            try socket.send(Array("CONNECT \(token):\(displayPort) HTTP/1.0\r\nHost: \(token):\(displayPort)\r\n\r\n".utf8))
            let expected = Array("HTTP/1.1 200 Connection established\r\n\r\n".utf8)
            let answer = try socket.receive(exactly: expected.count)
            guard answer == expected else {
                socket.close()
                throw BenchFailure("gateway answered: \(String(decoding: answer, as: UTF8.self))")
            }
        }
        try socket.send(SpiceLink.bytes(channel: channel))
        return socket
    }

    /// Seconds to receive the display channel's whole stream of `bytes`.
    func receiveStream(of bytes: Int) throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        let socket = try open(channel: SpiceLink.display)
        defer { socket.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        var received = 0
        while received < bytes {
            let count = try socket.receive(into: buffer)
            guard count > 0 else { throw BenchFailure("stream ended after \(received) bytes") }
            received += count
        }
        return clock.now - start
    }

    /// Each of `count` round trips of a `size`-byte message on an inputs channel, after
    /// `warmUp` unmeasured ones.
    func roundTrips(_ count: Int, size: Int, warmUp: Int) throws -> [Duration] {
        let socket = try open(channel: SpiceLink.inputs)
        defer { socket.close() }
        let message = [UInt8](repeating: 0x42, count: size)
        let clock = ContinuousClock()
        var times: [Duration] = []
        times.reserveCapacity(count)
        for index in 0..<(warmUp + count) {
            let start = clock.now
            try socket.send(message)
            _ = try socket.receive(exactly: size)
            if index >= warmUp { times.append(clock.now - start) }
        }
        return times
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
