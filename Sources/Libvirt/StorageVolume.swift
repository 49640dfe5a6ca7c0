internal import CLibvirt
import Foundation

/// A volume (disk image) in a storage pool.
public final class StorageVolume: @unchecked Sendable {
    // @unchecked: immutable pointer to a thread-safe libvirt object.
    let pointer: virStorageVolPtr
    public let connection: Connection
    public let name: String
    /// The volume's path on the host, e.g. `/var/lib/deskpool-images/base-1.qcow2`.
    public let path: String
    /// The volume's key, unique on the host (for files: the path).
    public let key: String

    init(pointer: virStorageVolPtr, connection: Connection) {
        self.pointer = pointer
        self.connection = connection
        self.name = virStorageVolGetName(pointer).map { String(cString: $0) } ?? ""
        self.key = virStorageVolGetKey(pointer).map { String(cString: $0) } ?? ""
        if let path = virStorageVolGetPath(pointer) {
            self.path = String(cString: path)
            free(path)
        } else {
            self.path = ""
        }
    }

    deinit { virStorageVolFree(pointer) }

    func run<T: Sendable>(
        _ body: @escaping @Sendable (virStorageVolPtr) throws(LibvirtError) -> T
    ) async throws(LibvirtError) -> T {
        try await connection.run { [self] _ throws(LibvirtError) -> T in try body(self.pointer) }
    }

    /// Size in bytes: `capacity` is what the guest sees, `allocation` what the host spends.
    public struct Info: Sendable, Hashable {
        public var capacityBytes: UInt64
        public var allocationBytes: UInt64
    }

    public func info() async throws(LibvirtError) -> Info {
        try await run { pointer throws(LibvirtError) in
            var info = virStorageVolInfo()
            try check(virStorageVolGetInfo(pointer, &info))
            return Info(capacityBytes: info.capacity, allocationBytes: info.allocation)
        }
    }

    /// The volume's XML, including `<backingStore>` for a linked clone.
    public func xml() async throws(LibvirtError) -> String {
        try await run { pointer throws(LibvirtError) in try takeString(virStorageVolGetXMLDesc(pointer, 0)) }
    }

    /// Deletes the volume from disk.
    public func delete() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virStorageVolDelete(pointer, 0)) }
    }
}
