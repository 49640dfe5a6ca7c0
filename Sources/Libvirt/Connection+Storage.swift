internal import CLibvirt
import Foundation

extension Connection {
    /// Every storage pool, active or only defined.
    public func listStoragePools() async throws(LibvirtError) -> [StoragePool] {
        let connection = self
        return try await run { pointer throws(LibvirtError) -> [StoragePool] in
            var list: UnsafeMutablePointer<virStoragePoolPtr?>?
            let count = try check(virConnectListAllStoragePools(pointer, &list, 0))
            defer { free(list) }
            return (0..<Int(count)).compactMap { index in
                list?[index].map { StoragePool(pointer: $0, connection: connection) }
            }
        }
    }

    /// The storage pool with this name; throws `.noStoragePool` when there is none.
    public func storagePool(named name: String) async throws(LibvirtError) -> StoragePool {
        let connection = self
        return try await run { pointer throws(LibvirtError) in
            StoragePool(pointer: try check(virStoragePoolLookupByName(pointer, name)), connection: connection)
        }
    }

    /// Defines a persistent storage pool from XML; `build()` and `start()` it next.
    public func defineStoragePool(xml: String) async throws(LibvirtError) -> StoragePool {
        let connection = self
        return try await run { pointer throws(LibvirtError) in
            StoragePool(pointer: try check(virStoragePoolDefineXML(pointer, xml, 0)), connection: connection)
        }
    }

    /// The volume at this path on the host, in whichever pool holds it.
    public func storageVolume(path: String) async throws(LibvirtError) -> StorageVolume {
        let connection = self
        return try await run { pointer throws(LibvirtError) in
            StorageVolume(pointer: try check(virStorageVolLookupByPath(pointer, path)), connection: connection)
        }
    }
}
