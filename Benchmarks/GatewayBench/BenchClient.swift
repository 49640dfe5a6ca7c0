import Foundation

/// The benchmark's client: opens a channel directly to the display, through the gateway with
/// a CONNECT (as remote-viewer does) or with a WebSocket upgrade (as a browser console does),
/// then measures. On every path the channel starts with the same SPICE link preamble, which
/// tells the stand-in display what to do; on the browser path it travels in the first frame.
struct BenchClient {
    /// Where channels go: the display's port, or the gateway's with a token when tunnelled.
    enum Path: CustomStringConvertible {
        case direct(displayPort: Int)
        case gateway(port: Int, token: String, displayPort: Int)
        case websocket(port: Int, token: String, displayPort: Int)

        var description: String {
            switch self {
            case .direct: "direct"
            case .gateway: "gateway"
            case .websocket: "websocket"
            }
        }
    }

    let path: Path
    /// The client's source address (nil: the system's choice).
    var source: String? = nil
    /// Where the display is on the direct path (an IPv4 address); the gateway is on 127.0.0.1.
    var displayHost = "127.0.0.1"

    /// A channel through the path, before anything is sent on it.
    func connect() throws -> BenchConnection {
        switch path {
        case .direct(let displayPort):
            return BenchConnection(socket: try BlockingSocket.connect(port: displayPort, host: displayHost, from: source), webSocket: false)
        case .gateway(let port, let token, let displayPort):
            let socket = try BlockingSocket.connect(port: port, from: source)
            do {
                try socket.send(Array("CONNECT \(token):\(displayPort) HTTP/1.0\r\nHost: \(token):\(displayPort)\r\n\r\n".utf8))
                let expected = Array("HTTP/1.1 200 Connection established\r\n\r\n".utf8)
                let answer = try socket.receive(upTo: expected.count)
                guard answer == expected else { throw BenchFailure("gateway answered: \(String(decoding: answer, as: UTF8.self))") }
            } catch {
                socket.close()
                throw error
            }
            return BenchConnection(socket: socket, webSocket: false)
        case .websocket(let port, let token, let displayPort):
            let socket = try BlockingSocket.connect(port: port, from: source)
            do {
                try WebSocketClient.upgrade(socket, gateway: "127.0.0.1:\(port)", token: token, displayPort: displayPort)
            } catch {
                socket.close()
                throw error
            }
            return BenchConnection(socket: socket, webSocket: true)
        }
    }

    /// A SPICE channel of type `channel`: connected, and its link preamble sent.
    func open(channel: UInt8) throws -> BenchConnection {
        let connection = try connect()
        try connection.send(SpiceLink.bytes(channel: channel))
        return connection
    }

    /// Seconds to receive the display channel's whole stream of `bytes`.
    func receiveStream(of bytes: Int) throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        let connection = try open(channel: SpiceLink.display)
        defer { connection.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        var received = 0
        while received < bytes {
            received += try connection.receive(into: buffer)
        }
        return clock.now - start
    }

    /// Each of `count` round trips of a `size`-byte message on an inputs channel, after
    /// `warmUp` unmeasured ones.
    func roundTrips(_ count: Int, size: Int, warmUp: Int) throws -> [Duration] {
        let connection = try open(channel: SpiceLink.inputs)
        defer { connection.close() }
        let message = [UInt8](repeating: 0x42, count: size)
        let clock = ContinuousClock()
        var times: [Duration] = []
        times.reserveCapacity(count)
        for index in 0..<(warmUp + count) {
            let start = clock.now
            try connection.send(message)
            _ = try connection.receive(exactly: size)
            if index >= warmUp { times.append(clock.now - start) }
        }
        return times
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
