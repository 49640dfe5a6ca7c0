import Foundation
import NIOCore

/// A local file as a sequence of 1 MiB buffers, read as the upload consumes them (an image of
/// many gigabytes never sits in memory). Only regular files: a FIFO or device would have no
/// length to declare.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let size: UInt64

    init(path: String) throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        guard attributes[.type] as? FileAttributeType == .typeRegular, let size = attributes[.size] as? NSNumber else {
            throw ClientError(status: 0, code: "invalidInput", message: "\(path) is not a regular file", field: "file")
        }
        self.path = path
        self.size = size.uint64Value
    }

    func makeAsyncIterator() -> Iterator { Iterator(handle: FileHandle(forReadingAtPath: path), remaining: size) }

    struct Iterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        /// Bytes still to send: exactly the declared length, even if the file grows.
        var remaining: UInt64

        mutating func next() async throws -> ByteBuffer? {
            guard remaining > 0 else { try? handle?.close(); return nil }
            guard let handle else { throw CocoaError(.fileReadNoSuchFile) }
            let data = try handle.read(upToCount: Int(Swift.min(remaining, 1 << 20))) ?? Data()
            guard !data.isEmpty else { throw CocoaError(.fileReadUnknown) }
            remaining -= UInt64(data.count)
            return ByteBuffer(data: data)
        }
    }
}
