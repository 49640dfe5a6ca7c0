public import DeskpoolCore
import Foundation
import Libvirt

extension LibvirtHypervisor {
    /// Base volumes are read-only: clones only read them, and qemu must never write one.
    static let baseVolumeMode = "0444"

    public func importBaseVolume(named volume: String, from source: ImageSource) async throws(DeskpoolError) {
        let operation = "importing base volume \(volume)"
        let pool = try await pool(operation)
        if try await self.volume(named: volume, in: pool, operation) != nil {
            throw DeskpoolError(.alreadyExists, "volume \(volume) already exists on \(host)")
        }
        switch source {
        case .file(let path):
            try await upload(path, into: volume, pool: pool, operation)
        case .volume(let name):
            guard let original = try await self.volume(named: name, in: pool, operation) else {
                throw DeskpoolError(.notFound, "volume \(name) is missing on \(host)")
            }
            try await copy(original, into: volume, pool: pool, operation)
        case .domainDisk(let name):
            guard let domain = try await domain(named: name, operation) else {
                throw DeskpoolError(.notFound, "domain \(name) is missing on \(host)")
            }
            let xml = try await libvirt(operation) { () async throws(LibvirtError) in try await domain.xml(.inactive) }
            let path = (try? LibvirtXML.values("/domain/devices/disk[not(@device) or @device='disk']/source/@file", in: xml))?.first
            guard let path else { throw DeskpoolError(.notFound, "domain \(name) has no file disk on \(host)") }
            let original: StorageVolume
            do throws(LibvirtError) {
                original = try await connection.storageVolume(path: path)
            } catch where error.code == .noStorageVolume {
                throw DeskpoolError(.notFound, "the disk \(path) of domain \(name) is in no storage pool on \(host)")
            } catch {
                throw failure(operation, error)
            }
            try await copy(original, into: volume, pool: pool, operation)
        }
    }

    public func volumeExists(named volume: String) async throws(DeskpoolError) -> Bool {
        let operation = "looking up volume \(volume)"
        return try await self.volume(named: volume, in: pool(operation), operation) != nil
    }

    public func deleteVolume(named volume: String) async throws(DeskpoolError) {
        let operation = "deleting volume \(volume)"
        guard let found = try await self.volume(named: volume, in: pool(operation), operation) else { return }
        do throws(LibvirtError) {
            try await found.delete()
        } catch where error.code == .noStorageVolume {
            // Deleted meanwhile.
        } catch {
            throw failure(operation, error)
        }
    }

    public func deskpoolVolumes() async throws(DeskpoolError) -> [String] {
        let operation = "listing volumes"
        let pool = try await pool(operation)
        let volumes = try await libvirt(operation) { () async throws(LibvirtError) in try await pool.volumes() }
        return volumes.map(\.name).filter { $0.hasPrefix("dp-") && $0.hasSuffix(".qcow2") }.sorted()
    }

    public func capacity() async throws(DeskpoolError) -> HostCapacity {
        let operation = "reading free capacity"
        let pool = try await pool(operation)
        return try await libvirt(operation) { () async throws(LibvirtError) in
            var memory = try await connection.freeMemory()
            // A driver that cannot tell free memory (the test driver) reports 0: take the
            // host's memory instead of refusing every placement.
            if memory == 0 { memory = try await connection.hostInfo().memoryBytes }
            let disk = try await pool.info().availableBytes
            return HostCapacity(freeMemoryMiB: Int(memory >> 20), freeDiskMiB: Int(disk >> 20))
        }
    }

    // MARK: - Helpers

    func pool(_ operation: String) async throws(DeskpoolError) -> StoragePool {
        do throws(LibvirtError) {
            return try await connection.storagePool(named: storagePool)
        } catch where error.code == .noStoragePool {
            throw DeskpoolError(.notFound, "storage pool \(storagePool) is missing on \(host)")
        } catch {
            throw failure(operation, error)
        }
    }

    /// The volume with this name in `pool`, or nil when there is none.
    func volume(named name: String, in pool: StoragePool, _ operation: String) async throws(DeskpoolError) -> StorageVolume? {
        do throws(LibvirtError) {
            return try await pool.volume(named: name)
        } catch where error.code == .noStorageVolume {
            return nil
        } catch {
            throw failure(operation, error)
        }
    }

    /// A qcow2 linked clone of `base` (qcow2 or raw), as large as the base.
    func createClone(named name: String, of base: StorageVolume, in pool: StoragePool, _ operation: String) async throws(DeskpoolError) -> StorageVolume {
        try await libvirt(operation) { () async throws(LibvirtError) in
            let format = Self.format(ofVolumeXML: try await base.xml())
            let capacity = try await base.info().capacityBytes
            return try await pool.createVolume(xml: VolumeXML.volume(
                name: name, capacityBytes: capacity, format: "qcow2", backing: (path: base.path, format: format)))
        }
    }

    /// Creates `name` as large as the image in the local file `path` and streams the file in.
    private func upload(_ path: String, into name: String, pool: StoragePool, _ operation: String) async throws(DeskpoolError) {
        guard let image = ImageFile.inspect(path) else {
            throw DeskpoolError(.notFound, "image file \(path) is missing")
        }
        let volume = try await libvirt(operation) { () async throws(LibvirtError) in
            try await pool.createVolume(xml: VolumeXML.volume(
                name: name, capacityBytes: image.capacityBytes, format: image.format, mode: Self.baseVolumeMode))
        }
        do throws(LibvirtError) {
            try await volume.upload(fromFile: path)
        } catch {
            try? await volume.delete()
            throw failure(operation, error)
        }
    }

    private func copy(_ original: StorageVolume, into name: String, pool: StoragePool, _ operation: String) async throws(DeskpoolError) {
        try await libvirt(operation) { () async throws(LibvirtError) in
            let format = Self.format(ofVolumeXML: try await original.xml())
            let capacity = try await original.info().capacityBytes
            _ = try await pool.createVolume(xml: VolumeXML.volume(
                name: name, capacityBytes: capacity, format: format, mode: Self.baseVolumeMode), copying: original)
        }
    }

    /// Read once per desktop (for its clone): hence `XMLAttributeReader`, which does not leak.
    static func format(ofVolumeXML xml: String) -> String {
        XMLAttributeReader.value(of: "type", at: ["volume", "target", "format"], in: xml) ?? "raw"
    }
}
