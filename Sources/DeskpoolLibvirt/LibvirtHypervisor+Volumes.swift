public import DeskpoolCore
import Foundation
import Libvirt

extension LibvirtHypervisor {
    /// Base volumes are read-only (clones only read them; qemu must never write one) and
    /// readable by the hypervisor's user only, not world-readable: root's, group-readable by
    /// the group qemu runs as (Debian's `libvirt-qemu`; `qemu` elsewhere). libvirt's DAC
    /// driver (`dynamic_ownership`) hands the files of a starting guest's backing chain to
    /// qemu's user anyway; the group keeps the base readable where it does not.
    /// A desktop's identity seed: like a base (qemu reads it, nobody else; it may hold a
    /// join password).
    static var seedVolumePermissions: VolumeXML.Permissions { baseVolumePermissions }

    static let baseVolumePermissions: VolumeXML.Permissions = {
        for name in ["libvirt-qemu", "qemu"] {
            if let group = getgrnam(name) { return VolumeXML.Permissions(mode: "0440", owner: 0, group: group.pointee.gr_gid) }
        }
        return VolumeXML.Permissions(mode: "0400", owner: 0, group: 0)
    }()

    public func importBaseVolume(named volume: String, from source: ImageSource, limits: ImageImportConfiguration) async throws(DeskpoolError) {
        let operation = "importing base volume \(volume)"
        let pool = try await pool(operation)
        if try await self.volume(named: volume, in: pool, operation) != nil {
            throw DeskpoolError(.alreadyExists, "volume \(volume) already exists on \(host)")
        }
        switch source {
        case .opened(let image):
            try await upload(image, into: volume, pool: pool, operation)
        case .file(let path):
            try await upload(OpenedImage.open(path: path, limits: limits), into: volume, pool: pool, operation)
        case .volume(let name):
            guard let original = try await self.volume(named: name, in: pool, operation) else {
                throw DeskpoolError(.notFound, "volume \(name) is missing on \(host)", field: "volume")
            }
            try await copy(original, named: name, into: volume, pool: pool, limits: limits, operation)
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
            try await copy(original, named: "the disk of domain \(name)", into: volume, pool: pool, limits: limits, operation)
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
        let names = try await libvirt(operation) { () async throws(LibvirtError) in try await pool.volumeNames() }
        return names.filter { $0.hasPrefix("dp-") && ($0.hasSuffix(".qcow2") || $0.hasSuffix(".seed.img")) }.sorted()
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

    /// Creates `name` with the inspected image's format and virtual size, and streams the
    /// image in from its descriptor.
    private func upload(_ image: OpenedImage, into name: String, pool: StoragePool, _ operation: String) async throws(DeskpoolError) {
        let facts = image.facts
        let volume = try await libvirt(operation) { () async throws(LibvirtError) in
            try await pool.createVolume(xml: VolumeXML.volume(
                name: name, capacityBytes: facts.virtualBytes, format: facts.format.rawValue, permissions: Self.baseVolumePermissions))
        }
        do throws(LibvirtError) {
            try await volume.upload(fromDescriptor: image.descriptor, length: facts.fileBytes, name: image.name)
        } catch {
            try? await volume.delete()
            throw failure(operation, error)
        }
    }

    /// Copies a volume of the pool after inspecting it: libvirt's description (format,
    /// backing store) and its first bytes read through libvirt, by `ImageInspector`'s rules.
    /// The copy gets the inspected format, not libvirt's probe.
    private func copy(_ original: StorageVolume, named name: String, into newName: String, pool: StoragePool,
                      limits: ImageImportConfiguration, _ operation: String) async throws(DeskpoolError) {
        let (xml, info) = try await libvirt(operation) { () async throws(LibvirtError) in (try await original.xml(), try await original.info()) }
        try ImageInspector.checkVolume(format: Self.format(ofVolumeXML: xml), hasBackingStore: Self.hasBackingPath(xml), name: name)
        let header: [UInt8]
        do throws(LibvirtError) {
            header = try await original.download(length: UInt64(ImageInspector.headerBytes))
        } catch where error.code == .noSupport && (link.uri.hasPrefix("test:") || link.uri.hasPrefix("test+")) {
            // The test driver (local or behind a daemon) keeps no bytes and cannot download: its volumes are what
            // their XML says. Every real driver reads the header.
            header = Self.format(ofVolumeXML: xml) == "qcow2" ? Self.qcow2Header(virtualBytes: info.capacityBytes) : [0]
        } catch {
            throw failure(operation, error)
        }
        // What the host spends on the volume (a sparse raw file spends less than its size).
        let fileBytes = info.allocationBytes
        let facts = try ImageInspector.inspect(header: header, fileBytes: max(fileBytes, UInt64(header.count)), name: name, limits: limits)
        let format = facts.format.rawValue
        let capacity = facts.format == .raw ? info.capacityBytes : facts.virtualBytes
        guard capacity <= limits.maxVirtualBytes else {
            throw DeskpoolError(.tooLarge, "\(name): virtual size \(ImageInspector.describe(capacity)) is over images.maxVirtualBytes (\(ImageInspector.describe(limits.maxVirtualBytes)))")
        }
        try await libvirt(operation) { () async throws(LibvirtError) in
            _ = try await pool.createVolume(xml: VolumeXML.volume(
                name: newName, capacityBytes: capacity, format: format, permissions: Self.baseVolumePermissions), copying: original)
        }
    }

    /// A clean qcow2 v3 header of `virtualBytes`, standing in for a test-driver volume's.
    static func qcow2Header(virtualBytes: UInt64) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 104)
        header[0..<8] = [0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]
        header[23] = 16
        for index in 0..<8 { header[24 + index] = UInt8(truncatingIfNeeded: virtualBytes >> (8 * UInt64(7 - index))) }
        return header
    }

    /// Whether a volume's XML names a backing file (`<backingStore><path>`).
    static func hasBackingPath(_ xml: String) -> Bool {
        ((try? LibvirtXML.values("/volume/backingStore/path", in: xml)) ?? []).contains { !$0.isEmpty }
    }

    /// Read once per desktop (for its clone): hence `XMLAttributeReader`, which does not leak.
    static func format(ofVolumeXML xml: String) -> String {
        XMLAttributeReader.value(of: "type", at: ["volume", "target", "format"], in: xml) ?? "raw"
    }
}
