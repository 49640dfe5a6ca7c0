import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Testing

/// Image imports on qemu:///system: an opened file streamed from its descriptor, with the
/// inspected format and the base volume's mode; hostile images and volumes refused before a
/// byte is copied, leaving no volume.
@Suite(
    "Image imports on real qemu:///system", .serialized,
    .enabled(if: TestTier.realLibvirt.isEnabled, Comment(rawValue: TestTier.realLibvirt.skipReason)))
struct ImageImportQemuTests {
    static let limits = ImageImportConfiguration(importDirectory: "/unused", uploadDirectory: "/unused",
                                                 maxImageBytes: 256 << 20, maxVirtualBytes: 1 << 30)

    @Test("descriptor upload: the bytes inspected are the bytes copied, the name no longer matters; base 0440; hostile sources refused")
    func imports() async throws {
        let prefix = try await LibvirtSandbox.run(uri: QemuSystemTests.uri) { sandbox in
            let pool = try await sandbox.makeDirPool()
            let hypervisor = LibvirtHypervisor(host: "local", connection: sandbox.connection, storagePool: pool.name, domainType: "qemu")
            let scratch = sandbox.directory + "-scratch"
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: scratch) }

            // A raw image of known bytes, opened, then its name removed: the import reads the descriptor.
            var bytes = [UInt8](repeating: 0, count: 3 << 20)
            for index in stride(from: 0, to: bytes.count, by: 4096) { bytes[index] = UInt8(truncatingIfNeeded: index >> 12) }
            try Data(bytes).write(to: URL(fileURLWithPath: scratch + "/disk.img"))
            let opened = try OpenedImage.open(name: "disk.img", inDirectory: scratch, limits: Self.limits)
            try FileManager.default.removeItem(atPath: scratch + "/disk.img")
            try await hypervisor.importBaseVolume(named: "dp-base-raw-v1.qcow2", from: .opened(opened), limits: Self.limits)
            let raw = try await pool.volume(named: "dp-base-raw-v1.qcow2")
            #expect(FileManager.default.contents(atPath: raw.path).map { [UInt8]($0) } == bytes)
            #expect(try await raw.xml().contains("<format type='raw'/>"), "the inspected format, stated explicitly")
            let attributes = try FileManager.default.attributesOfItem(atPath: raw.path)
            #expect(attributes[.posixPermissions] as? Int == 0o440 && (attributes[.ownerAccountID] as? NSNumber)?.intValue == 0)
            #expect(attributes[.groupOwnerAccountName] as? String == "libvirt-qemu")
            // The same descriptor fills a second host's volume (pread from offset 0).
            try await hypervisor.importBaseVolume(named: "dp-base-raw-v2.qcow2", from: .opened(opened), limits: Self.limits)
            #expect(FileManager.default.contents(atPath: try await pool.volume(named: "dp-base-raw-v2.qcow2").path).map { [UInt8]($0) } == bytes)

            // Hostile files made by qemu-img, by root's path: refused, no volume.
            _ = try Command.output("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", scratch + "/backed.qcow2", "16M"])
            // Never name a host file as the data file here: `qemu-img create` truncates the data
            // file to the virtual size (a data_file=/etc/passwd once wiped the test machine's
            // /etc/passwd). The inspector refuses any external data file, wherever it points.
            _ = try Command.output("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", "-o", "data_file=\(scratch)/data.raw,data_file_raw=on", scratch + "/data.qcow2", "16M"])
            for (file, words) in [("backed.qcow2", "has a backing file"), ("data.qcow2", "has an external data file")] {
                let error = await #expect(throws: DeskpoolError.self) {
                    try await hypervisor.importBaseVolume(named: "dp-base-bad-v1.qcow2", from: .file(scratch + "/" + file), limits: Self.limits)
                }
                #expect(error?.code == .invalidInput && error?.message.contains(words) == true, "\(file): \(error.map { "\($0)" } ?? "")")
                #expect(try await !hypervisor.volumeExists(named: "dp-base-bad-v1.qcow2"))
            }

            // The same images as volumes of the pool: libvirt's description and the header
            // read through libvirt are checked before a copy.
            for file in ["backed.qcow2", "data.qcow2"] {
                try FileManager.default.copyItem(atPath: scratch + "/" + file, toPath: sandbox.directory + "/golden-" + file)
            }
            try await pool.refresh()
            for (volume, words) in [("golden-backed.qcow2", "has a backing file"), ("golden-data.qcow2", "has an external data file")] {
                let error = await #expect(throws: DeskpoolError.self) {
                    try await hypervisor.importBaseVolume(named: "dp-base-bad-v1.qcow2", from: .volume(volume), limits: Self.limits)
                }
                #expect(error?.code == .invalidInput && error?.message.contains(words) == true, "\(volume): \(error.map { "\($0)" } ?? "")")
                #expect(try await !hypervisor.volumeExists(named: "dp-base-bad-v1.qcow2"))
            }
            // A clean volume is copied with its format.
            _ = try Command.output("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", sandbox.directory + "/golden-clean.qcow2", "16M"])
            try await pool.refresh()
            try await hypervisor.importBaseVolume(named: "dp-base-clean-v1.qcow2", from: .volume("golden-clean.qcow2"), limits: Self.limits)
            #expect(try await pool.volume(named: "dp-base-clean-v1.qcow2").xml().contains("<format type='qcow2'/>"))
            return sandbox.prefix
        }
        try await QemuSystemTests.expectNothingLeft(prefix: prefix)
    }
}
