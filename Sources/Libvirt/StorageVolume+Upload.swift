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
