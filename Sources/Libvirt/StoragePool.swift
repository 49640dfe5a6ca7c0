internal import CLibvirt
import Foundation

/// A libvirt storage pool, e.g. a directory of disk images (`<pool type='dir'>`).
public final class StoragePool: @unchecked Sendable {
    // @unchecked: immutable pointer to a thread-safe libvirt object.
    let pointer: virStoragePoolPtr
    public let connection: Connection
    public let name: String

    init(pointer: virStoragePoolPtr, connection: Connection) {
        self.pointer = pointer
        self.connection = connection
        self.name = virStoragePoolGetName(pointer).map { String(cString: $0) } ?? ""
    }

    deinit { virStoragePoolFree(pointer) }

    func run<T: Sendable>(
        _ body: @escaping @Sendable (virStoragePoolPtr) throws(LibvirtError) -> T
    ) async throws(LibvirtError) -> T {
        try await connection.run { [self] _ throws(LibvirtError) -> T in try body(self.pointer) }
    }

    /// Creates the pool's backing (for a dir pool: the target directory).
    public func build() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virStoragePoolBuild(pointer, 0)) }
    }

    /// Starts (activates) a defined pool.
    public func start() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virStoragePoolCreate(pointer, 0)) }
    }

    /// Stops the pool; its volumes stay on disk.
    public func stop() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virStoragePoolDestroy(pointer)) }
    }

    /// Removes the pool's definition (the pool must be stopped). Volumes stay on disk.
    public func undefine() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virStoragePoolUndefine(pointer)) }
    }

    /// Deletes the pool's backing (for a dir pool: removes the empty directory).
    public func deleteBacking() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virStoragePoolDelete(pointer, 0)) }
    }

    /// Re-reads the volumes on disk.
    public func refresh() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virStoragePoolRefresh(pointer, 0)) }
    }

    public func setAutostart(_ autostart: Bool) async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virStoragePoolSetAutostart(pointer, autostart ? 1 : 0)) }
    }

    public func isActive() async throws(LibvirtError) -> Bool {
        try await run { pointer throws(LibvirtError) in try check(virStoragePoolIsActive(pointer)) == 1 }
    }

    /// Capacity, allocation and free space in bytes.
    public struct Info: Sendable, Hashable {
        public var isRunning: Bool
        public var capacityBytes: UInt64
        public var allocationBytes: UInt64
        public var availableBytes: UInt64
    }

    public func info() async throws(LibvirtError) -> Info {
        try await run { pointer throws(LibvirtError) in
            var info = virStoragePoolInfo()
            try check(virStoragePoolGetInfo(pointer, &info))
            return Info(
                isRunning: info.state == VIR_STORAGE_POOL_RUNNING.rawValue,
                capacityBytes: info.capacity,
                allocationBytes: info.allocation,
                availableBytes: info.available
            )
        }
    }

    /// The pool's XML definition.
    public func xml(inactive: Bool = false) async throws(LibvirtError) -> String {
        let flags = inactive ? VIR_STORAGE_XML_INACTIVE.rawValue : 0
        return try await run { pointer throws(LibvirtError) in try takeString(virStoragePoolGetXMLDesc(pointer, flags)) }
    }

    // MARK: - Volumes

    /// Every volume in the pool (as of the last refresh).
    public func volumes() async throws(LibvirtError) -> [StorageVolume] {
        let connection = self.connection
        return try await run { pointer throws(LibvirtError) -> [StorageVolume] in
            var list: UnsafeMutablePointer<virStorageVolPtr?>?
            let count = try check(virStoragePoolListAllVolumes(pointer, &list, 0))
            defer { free(list) }
            return (0..<Int(count)).compactMap { index in
                list?[index].map { StorageVolume(pointer: $0, connection: connection) }
            }
        }
    }

    /// The names of the pool's volumes, in one call (`volumes()` asks each volume's path too, a
    /// round trip each on a remote daemon).
    public func volumeNames() async throws(LibvirtError) -> [String] {
        try await run { pointer throws(LibvirtError) -> [String] in
            var list: UnsafeMutablePointer<virStorageVolPtr?>?
            let count = try check(virStoragePoolListAllVolumes(pointer, &list, 0))
            defer { free(list) }
            return (0..<Int(count)).compactMap { index in
                guard let volume = list?[index] else { return nil }
                defer { virStorageVolFree(volume) }
                return virStorageVolGetName(volume).map { String(cString: $0) }
            }
        }
    }

    /// The volume with this name; throws `.noStorageVolume` when there is none.
    public func volume(named name: String) async throws(LibvirtError) -> StorageVolume {
        let connection = self.connection
        return try await run { pointer throws(LibvirtError) in
            StorageVolume(pointer: try check(virStorageVolLookupByName(pointer, name)), connection: connection)
        }
    }

    /// Creates a volume from XML. A qcow2 volume whose XML has a `<backingStore>` is a linked
    /// clone: it records only what differs from its backing image.
    public func createVolume(xml: String) async throws(LibvirtError) -> StorageVolume {
        let connection = self.connection
        return try await run { pointer throws(LibvirtError) in
            StorageVolume(pointer: try check(virStorageVolCreateXML(pointer, xml, 0)), connection: connection)
        }
    }

    /// Creates a volume from XML filled with a full copy of `source` (which may live in
    /// another pool), converting the format if the XML asks for another one.
    public func createVolume(xml: String, copying source: StorageVolume) async throws(LibvirtError) -> StorageVolume {
        let connection = self.connection
        return try await run { pointer throws(LibvirtError) in
            StorageVolume(
                pointer: try check(virStorageVolCreateXMLFrom(pointer, xml, source.pointer, 0)),
                connection: connection)
        }
    }
}
