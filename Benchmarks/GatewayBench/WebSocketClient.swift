/// The browser side of a console WebSocket, as a page (noVNC) plays it: the upgrade to the
/// gateway's `/console`, masked binary frames out (RFC 6455: a client must mask), and the
/// gateway's unmasked binary frames decoded back to the display's bytes.
enum WebSocketClient {
    /// RFC 6455's sample key, and the accept the gateway must answer it with.
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let accepted = Array(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n").utf8)

    /// Sends the upgrade for the display `displayPort` and reads the 101. The page's origin has
    /// the relay's host name, as the portal's has when it runs next to the gateway.
    static func upgrade(_ socket: BlockingSocket, gateway: String, token: String, displayPort: Int) throws {
        let host = gateway.split(separator: ":").first.map(String.init) ?? gateway
        let head = "GET /console?token=\(token)&port=\(displayPort) HTTP/1.1\r\nHost: \(gateway)\r\n"
            + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
            + "Origin: http://\(host):8080\r\n\r\n"
        try socket.send(Array(head.utf8))
        let answer = try socket.receive(upTo: accepted.count)
        guard answer == accepted else { throw BenchFailure("gateway answered the upgrade: \(String(decoding: answer, as: UTF8.self))") }
    }

    /// A masked binary frame carrying `payload`.
    static func frame(_ payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0x82]
        switch payload.count {
        case ..<126: bytes.append(0x80 | UInt8(payload.count))
        case ...0xffff: bytes += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        default: bytes += [0x80 | 127] + (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xff) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        bytes += mask
        bytes += payload.enumerated().map { $0.element ^ mask[$0.offset & 3] }
        return bytes
    }
}

/// Decodes the gateway's frames into their payload, across reads: a frame's header or payload
/// may end in the next read. Anything but an unmasked binary (or continuation) frame is an error.
struct WebSocketFrameReader {
    private var header: [UInt8] = []
    private var payloadLeft = 0

    /// Hands each run of payload in `bytes` to `payload`.
    mutating func decode(_ bytes: UnsafeRawBufferPointer, payload: (UnsafeRawBufferPointer) -> Void) throws {
        var index = 0
        while index < bytes.count {
            if payloadLeft > 0 {
                let count = min(payloadLeft, bytes.count - index)
                payload(UnsafeRawBufferPointer(rebasing: bytes[index..<(index + count)]))
                payloadLeft -= count
                index += count
                continue
            }
            header.append(bytes[index])
            index += 1
            guard let length = try payloadLength() else { continue }
            header.removeAll(keepingCapacity: true)
            payloadLeft = length
        }
    }

    /// The payload's length once the header is complete.
    private func payloadLength() throws -> Int? {
        guard header.count >= 2 else { return nil }
        let opcode = header[0] & 0x0f
        guard opcode == 0x2 || opcode == 0x0 else { throw BenchFailure("the gateway sent a frame of opcode \(opcode)") }
        guard header[1] & 0x80 == 0 else { throw BenchFailure("the gateway sent a masked frame") }
        let short = Int(header[1] & 0x7f)
        let extra = short == 126 ? 2 : short == 127 ? 8 : 0
        guard header.count == 2 + extra else { return nil }
        return extra == 0 ? short : header[2...].reduce(0) { $0 << 8 | Int($1) }
    }
}
