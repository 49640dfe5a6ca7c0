internal import CLibvirt
import Foundation

extension StorageVolume {
    /// Replaces the volume's content with the bytes of the local file at `path`
    /// (`virStorageVolUpload` and a stream). The file is read here, so this also fills a
    /// volume on a remote host. The volume must be at least as large as the file; bytes past
    /// the file's end are left as they were. Returns the number of bytes sent.
    @discardableResult
    public func upload(fromFile path: String) async throws(LibvirtError) -> UInt64 {
        let connection = self.connection
        return try await run { pointer throws(LibvirtError) in
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw LibvirtError(code: .systemError, message: "cannot open \(path): \(String(cString: strerror(errno)))")
            }
            defer { close(descriptor) }
            let stream = try Stream(connection: connection.pointer)
            // Offset 0, length 0: from the start, as much as is sent.
            do throws(LibvirtError) {
                try check(virStorageVolUpload(pointer, stream.pointer, 0, 0, 0))
            } catch {
                stream.abort()
                throw error
            }
            return try stream.transfer { stream throws(LibvirtError) in try stream.sendAll(from: descriptor, path: path) }
        }
    }
}

extension StorageVolume {
    /// Replaces the volume's first `length` bytes with those of `descriptor` from offset 0
    /// (`pread`: the descriptor's offset is not used, so one open file can fill several
    /// volumes). Exactly `length` bytes are sent: a file that grows meanwhile is cut there,
    /// one that shrinks is an error. The descriptor stays open (the caller owns it).
    public func upload(fromDescriptor descriptor: Int32, length: UInt64, name: String) async throws(LibvirtError) {
        let connection = self.connection
        try await run { pointer throws(LibvirtError) in
            let stream = try Stream(connection: connection.pointer)
            do throws(LibvirtError) {
                try check(virStorageVolUpload(pointer, stream.pointer, 0, length, 0))
            } catch {
                stream.abort()
                throw error
            }
            try stream.transfer { stream throws(LibvirtError) in
                let chunk = 1 << 20
                var buffer = [CChar](repeating: 0, count: chunk)
                var offset: UInt64 = 0
                while offset < length {
                    let want = Int(min(UInt64(chunk), length - offset))
                    let read = buffer.withUnsafeMutableBufferPointer { pread(descriptor, $0.baseAddress, want, off_t(offset)) }
                    if read < 0, errno == EINTR { continue }
                    guard read > 0 else {
                        throw LibvirtError(code: .systemError, message: "\(name) ended at byte \(offset) of \(length) (it changed while it was read)")
                    }
                    var sent = 0
                    while sent < read {
                        let count = buffer.withUnsafeBufferPointer { virStreamSend(stream.pointer, $0.baseAddress! + sent, read - sent) }
                        guard count > 0 else { throw LibvirtError.last(or: "virStreamSend failed") }
                        sent += Int(count)
                    }
                    offset += UInt64(read)
                }
            }
        }
    }

    /// Replaces the volume's first bytes with `bytes` (a small file the caller made, such as a
    /// cloud-init seed).
    public func upload(bytes: [UInt8]) async throws(LibvirtError) {
        let connection = self.connection
        try await run { pointer throws(LibvirtError) in
            let stream = try Stream(connection: connection.pointer)
            do throws(LibvirtError) {
                try check(virStorageVolUpload(pointer, stream.pointer, 0, UInt64(bytes.count), 0))
            } catch {
                stream.abort()
                throw error
            }
            try stream.transfer { stream throws(LibvirtError) in
                var sent = 0
                while sent < bytes.count {
                    let count = bytes.withUnsafeBufferPointer { buffer in
                        buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                            virStreamSend(stream.pointer, $0 + sent, min(1 << 20, bytes.count - sent))
                        }
                    }
                    guard count > 0 else { throw LibvirtError.last(or: "virStreamSend failed") }
                    sent += Int(count)
                }
            }
        }
    }

    /// The volume's first `length` bytes (fewer if it is shorter), read through libvirt
    /// (`virStorageVolDownload`), e.g. to inspect an image's header without trusting
    /// libvirt's own format probe.
    public func download(length: UInt64) async throws(LibvirtError) -> [UInt8] {
        let connection = self.connection
        return try await run { pointer throws(LibvirtError) in
            let stream = try Stream(connection: connection.pointer)
            do throws(LibvirtError) {
                try check(virStorageVolDownload(pointer, stream.pointer, 0, length, 0))
            } catch {
                stream.abort()
                throw error
            }
            return try stream.transfer { stream throws(LibvirtError) in try stream.receiveAll(chunk: Int(min(length, 1 << 20))) }
        }
    }
}
