import DeskpoolCore
import Dispatch
import Foundation
import Hummingbird

/// Receives an image uploaded as a request body (`application/octet-stream`) into a staging
/// file the broker creates itself (`O_CREAT | O_EXCL`, 0600, in `images.uploadDirectory`,
/// 0700), never in memory, and hands it over opened and inspected. The body limit does not
/// apply; `images.maxImageBytes` does: a larger Content-Length is refused before a byte is
/// read, a body that grows past it as soon as it does. The header is inspected as soon as it
/// has arrived. The staging file is always removed: its name is unlinked once it is opened
/// for reading (the descriptor keeps the bytes until the import ends), and on every refusal,
/// failure or lost client.
public struct ImageUpload: Sendable {
    let limits: ImageImportConfiguration

    /// Bytes gathered before one write to the staging file.
    static let batchBytes = 1 << 20

    /// Refuses at once what the request's headers already show: a declared size over the limit.
    func checkDeclaredSize(_ request: Request) throws(DeskpoolError) {
        if let length = request.headers[.contentLength].flatMap(UInt64.init) {
            try ImageInspector.checkFileSize(length, name: "the upload", limits: limits)
        }
    }

    /// Streams the body to a new staging file and opens it for the import.
    func receive(_ request: Request) async throws -> OpenedImage {
        try checkDeclaredSize(request)
        let declared = request.headers[.contentLength].flatMap(UInt64.init)
        try OpenedImage.prepareDirectory(limits.uploadDirectory)
        let name = "upload-\(UUID().uuidString.lowercased())"
        let path = URL(fileURLWithPath: limits.uploadDirectory).appendingPathComponent(name).path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw DeskpoolError(.unavailable, "cannot create a staging file in \(limits.uploadDirectory): \(String(cString: strerror(errno)))")
        }
        defer { unlink(path) }
        let writer = StagingWriter(descriptor: descriptor)
        defer { close(descriptor) }

        var total: UInt64 = 0
        var header: [UInt8] = []
        var inspected = false
        var batch: [UInt8] = []
        batch.reserveCapacity(Self.batchBytes)
        for try await buffer in request.body {
            total += UInt64(buffer.readableBytes)
            try ImageInspector.checkFileSize(total, name: "the upload", limits: limits)
            if !inspected {
                header.append(contentsOf: buffer.readableBytesView.prefix(ImageInspector.headerBytes - header.count))
                if header.count == ImageInspector.headerBytes {
                    // Refuse early (a backing file, an external data file, a virtual size over
                    // the limit) rather than after gigabytes.
                    _ = try ImageInspector.inspect(header: header, fileBytes: declared ?? total, name: "the upload", limits: limits)
                    inspected = true
                }
            }
            batch.append(contentsOf: buffer.readableBytesView)
            if batch.count >= Self.batchBytes {
                try await writer.write(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await writer.write(batch) }
        if let declared, declared != total {
            throw DeskpoolError(.invalidInput, "the upload ended after \(total) of \(declared) bytes")
        }
        // Opened like a file of the import directory: the same checks on the same descriptor.
        do throws(DeskpoolError) {
            return try OpenedImage.open(name: name, inDirectory: limits.uploadDirectory, limits: limits)
        } catch {
            throw DeskpoolError(error.code, error.message.replacingOccurrences(of: name, with: "the upload"))
        }
    }

    /// Removes staging files a crash left behind (at start, before anything uploads).
    public static func removeLeftovers(in directory: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix("upload-") {
            unlink(URL(fileURLWithPath: directory).appendingPathComponent(name).path)
        }
    }
}

/// Writes a staging file off the cooperative pool (file writes block), one batch at a time.
private struct StagingWriter: Sendable {
    let descriptor: Int32
    private static let queue = DispatchQueue(label: "deskpool.image-upload", attributes: .concurrent)

    func write(_ bytes: [UInt8]) async throws(DeskpoolError) {
        let descriptor = self.descriptor
        let failure: Int32? = await withCheckedContinuation { continuation in
            Self.queue.async {
                var offset = 0
                while offset < bytes.count {
                    let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
                    if written < 0 {
                        if errno == EINTR { continue }
                        continuation.resume(returning: errno)
                        return
                    }
                    offset += written
                }
                continuation.resume(returning: nil)
            }
        }
        if let failure {
            throw DeskpoolError(.unavailable, "cannot write the staging file: \(String(cString: strerror(failure)))")
        }
    }
}
