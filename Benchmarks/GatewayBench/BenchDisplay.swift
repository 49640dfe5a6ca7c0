import Foundation

/// A stand-in for a desktop's SPICE display on 127.0.0.1: each connection starts with the
/// client's SPICE link (header, then `size` bytes of link message); then a display channel
/// streams `streamBytes` to the client (the display direction, where SPICE's volume is) and an
/// inputs channel echoes each message (round trips). One thread per connection.
final class BenchDisplay: Sendable {
    let port: Int
    private let listener: BlockingSocket

    init(streamBytes: Int) throws {
        let (listener, port) = try BlockingSocket.listen()
        self.listener = listener
        self.port = port
        Thread.detachNewThread {
            while let connection = try? listener.accept() {
                Thread.detachNewThread {
                            Self.serve(connection, streamBytes: streamBytes)
                }
            }
        }
    }

    private static func serve(_ connection: BlockingSocket, streamBytes: Int) {
        defer { connection.close() }
        guard let header = try? connection.receive(exactly: SpiceLink.headerSize),
              let size = SpiceLink.messageSize(header: header),
              let message = try? connection.receive(exactly: size)
        else { return }
        switch message[SpiceLink.channelTypeOffset] {
        case SpiceLink.display: stream(streamBytes, to: connection)
        case SpiceLink.inputs: echo(connection)
        default: return
        }
    }

    private static func stream(_ count: Int, to connection: BlockingSocket) {
        let chunk = [UInt8](repeating: 0x5a, count: 256 * 1024)
        var left = count
        chunk.withUnsafeBytes { bytes in
            while left > 0 {
                let piece = min(left, bytes.count)
                guard (try? connection.send(UnsafeRawBufferPointer(rebasing: bytes[..<piece]))) != nil else { return }
                left -= piece
            }
        }
    }

    private static func echo(_ connection: BlockingSocket) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 1)
        defer { buffer.deallocate() }
        while let count = try? connection.receive(into: buffer), count > 0 {
            guard (try? connection.send(UnsafeRawBufferPointer(rebasing: buffer[..<count]))) != nil else { return }
        }
    }
}
