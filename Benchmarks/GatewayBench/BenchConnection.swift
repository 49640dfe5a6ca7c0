/// One channel of the benchmark's client: the channel's bytes as they are on the socket
/// (direct, or through a CONNECT tunnel), or carried in WebSocket frames (the browser path).
final class BenchConnection {
    let socket: BlockingSocket
    private var frames: WebSocketFrameReader?
    private var pending: [UInt8] = []

    init(socket: BlockingSocket, webSocket: Bool) {
        self.socket = socket
        frames = webSocket ? WebSocketFrameReader() : nil
    }

    func send(_ message: [UInt8]) throws {
        try socket.send(frames == nil ? message : WebSocketClient.frame(message))
    }

    /// Reads once into `buffer` and returns how many of the channel's bytes that read carried
    /// (for WebSocket, the frames' payload: possibly none). Throws at the end of the stream.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = try socket.receive(into: buffer)
        guard count > 0 else { throw BenchFailure("the stream ended") }
        guard frames != nil else { return count }
        var payload = 0
        try frames?.decode(UnsafeRawBufferPointer(rebasing: buffer[..<count])) { payload += $0.count }
        return payload
    }

    /// Reads exactly `count` of the channel's bytes (on the browser path, payload beyond them
    /// is kept for the next call: a frame may carry more than one answer's bytes).
    func receive(exactly count: Int) throws -> [UInt8] {
        guard frames != nil else { return try socket.receive(exactly: count) }
        var bytes = pending
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 1)
        defer { buffer.deallocate() }
        while bytes.count < count {
            let read = try socket.receive(into: buffer)
            guard read > 0 else { throw BenchFailure("the stream ended after \(bytes.count) of \(count) bytes") }
            try frames?.decode(UnsafeRawBufferPointer(rebasing: buffer[..<read])) { bytes += $0 }
        }
        pending = Array(bytes[count...])
        return Array(bytes[..<count])
    }

    func close() { socket.close() }
}
