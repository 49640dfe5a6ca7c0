import NIOCore
import NIOPosix
import Synchronization

/// One end of a test TCP connection (the test client, or the upstream display's side of a
/// tunnel): records every byte it receives and whether the connection closed, for polling.
final class Peer: Sendable {
    let channel: any Channel
    private struct State {
        var received: [UInt8] = []
        var closed = false
        /// Bytes of `received` that were the gateway's HTTP response head.
        var responseHeadLength = 0
    }

    private let state = Mutex(State())

    init(channel: any Channel) {
        self.channel = channel
    }

    var received: [UInt8] { state.withLock { $0.received } }
    var isClosed: Bool { state.withLock { $0.closed } }
    /// What arrived after the HTTP response head (after `responseStatus()`).
    var payload: [UInt8] { state.withLock { Array($0.received.dropFirst($0.responseHeadLength)) } }
    /// The local end's "ip:port".
    var localAddress: String? { channel.localAddress.flatMap(Self.hostPort) }
    var remoteAddress: String? { channel.remoteAddress.flatMap(Self.hostPort) }

    func append(_ buffer: ByteBuffer) {
        state.withLock { $0.received.append(contentsOf: buffer.readableBytesView) }
    }

    func markClosed() {
        state.withLock { $0.closed = true }
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    func close() async {
        try? await channel.close()
    }

    /// Waits for the gateway's response head and returns its status code.
    func responseStatus(within limit: Duration = .seconds(10)) async throws -> Int {
        let terminator = Array("\r\n\r\n".utf8)
        try await eventually("an HTTP response head", within: limit) {
            self.received.firstRange(of: terminator) != nil || self.isClosed
        }
        return try state.withLock { state in
            guard let end = state.received.firstRange(of: terminator) else { throw TestFailure("closed without a response") }
            state.responseHeadLength = end.upperBound
            let statusLine = String(decoding: state.received[..<end.lowerBound].prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
            let parts = statusLine.split(separator: " ")
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
                throw TestFailure("not an HTTP status line: \(statusLine)")
            }
            return status
        }
    }

    /// The response head's text (after `responseStatus()`).
    var responseHead: String {
        state.withLock { String(decoding: $0.received.prefix($0.responseHeadLength), as: UTF8.self) }
    }

    func waitForPayload(count: Int, within limit: Duration = .seconds(10)) async throws {
        try await eventually("\(count) payload bytes", within: limit) { self.payload.count >= count }
    }

    func waitForBytes(count: Int, within limit: Duration = .seconds(10)) async throws {
        try await eventually("\(count) bytes", within: limit) { self.received.count >= count }
    }

    func waitUntilClosed(within limit: Duration = .seconds(10)) async throws {
        try await eventually("the connection to close", within: limit) { self.isClosed }
    }

    static func hostPort(_ address: SocketAddress) -> String? {
        guard let ip = address.ipAddress, let port = address.port else { return nil }
        return "\(ip):\(port)"
    }

    /// Connects a test client (it only records what it receives). `prepare` adds handlers
    /// first (a TLS client).
    static func connect(port: Int, prepare: @escaping @Sendable (any Channel) throws -> Void = { _ in }) async throws -> Peer {
        let recorder = Mutex<Peer?>(nil)
        _ = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                let peer = Peer(channel: channel)
                recorder.withLock { $0 = peer }
                return channel.eventLoop.makeCompletedFuture {
                    try prepare(channel)
                    try channel.pipeline.syncOperations.addHandler(PeerHandler(peer: peer, behavior: .silent))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        guard let peer = recorder.withLock({ $0 }) else { throw TestFailure("no client channel") }
        return peer
    }
}
