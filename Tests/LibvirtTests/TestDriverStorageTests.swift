import DeskpoolLibvirt
import DeskpoolTesting
import Foundation
import Libvirt
import Testing

/// Storage through the test driver, with a node file that holds a dir pool.
@Suite("Libvirt storage on a test driver node file")
struct TestDriverStorageTests {
    static let nodeFile: String = {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/test-node.xml")
        return url.path
    }()

    @Test("the node file's dir pool: volumes, linked clone, full copy, delete")
    func storage() async throws {
        let connection = try await Connection.open("test://\(Self.nodeFile)")
        defer { Task { await connection.close() } }

        let pool = try await connection.storagePool(named: "images")
        #expect(try await pool.isActive())
        let info = try await pool.info()
        #expect(info.isRunning && info.capacityBytes > 0)
        #expect(try await pool.volumes().map(\.name).contains("golden-1.qcow2"))

        let base = try await pool.volume(named: "golden-1.qcow2")
        #expect(base.path == "/var/lib/deskpool-test/images/golden-1.qcow2")
        #expect(try await base.info().capacityBytes == 1_073_741_824)

        let clone = try await pool.createVolume(xml: LibvirtXML.qcow2Volume(
            name: "desk-1.qcow2", capacityBytes: 1_073_741_824, backingPath: base.path))
        #expect(clone.path == "/var/lib/deskpool-test/images/desk-1.qcow2")
        #expect(try await connection.storageVolume(path: clone.path).name == "desk-1.qcow2")

        let copy = try await pool.createVolume(
            xml: LibvirtXML.qcow2Volume(name: "golden-2.qcow2", capacityBytes: 1_073_741_824), copying: base)
        #expect(try await pool.volumes().map(\.name).sorted() == ["desk-1.qcow2", "golden-1.qcow2", "golden-2.qcow2"])

        try await clone.delete()
        try await copy.delete()
        #expect(try await pool.volumes().map(\.name) == ["golden-1.qcow2"])

        let duplicate = await #expect(throws: LibvirtError.self) {
            _ = try await pool.createVolume(xml: LibvirtXML.qcow2Volume(name: "golden-1.qcow2", capacityBytes: 1024))
        }
        // The test driver says "operation failed: storage vol already exists".
        #expect(duplicate?.code == .operationFailed)
        #expect(duplicate?.message.contains("already exists") == true)
        let missing = await #expect(throws: LibvirtError.self) { _ = try await pool.volume(named: "nope") }
        #expect(missing?.code == .noStorageVolume)
    }
}
