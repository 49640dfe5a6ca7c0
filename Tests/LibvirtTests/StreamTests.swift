import DeskpoolLibvirt
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Testing

/// libvirt data streams: a domain screenshot (read) and a volume upload (write).
@Suite("Libvirt streams")
struct StreamTests {
    static let pngMagic: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

    @Test("test driver: a screenshot of a running domain is libvirt's canned PNG")
    func testDriverScreenshot() async throws {
        let connection = try await Connection.open("test:///default")
        let domain = try await connection.domain(named: "test")
        let shot = try await domain.screenshot()
        #expect(shot.mimeType == "image/png")
        #expect(Array(shot.data.prefix(8)) == Self.pngMagic)
        let canned = "/usr/share/libvirt/test-screenshot.png"
        if let file = FileManager.default.contents(atPath: canned) {
            #expect(shot.data == [UInt8](file))
        }
        await connection.close()
    }

    @Test("test driver: upload is not supported, and says so with noSupport")
    func testDriverUpload() async throws {
        let connection = try await Connection.open("test://\(TestDriverStorageTests.nodeFile)")
        let volume = try await connection.storagePool(named: "images").volume(named: "golden-1.qcow2")
        let error = await #expect(throws: LibvirtError.self) { try await volume.upload(fromFile: "/etc/hostname") }
        #expect(error?.code == .noSupport)
        await connection.close()
    }

    @Test(
        "qemu:///system: upload a file into a raw volume in chunks, byte for byte; a missing file fails before libvirt",
        .enabled(if: TestTier.realLibvirt.isEnabled, Comment(rawValue: TestTier.realLibvirt.skipReason)))
    func qemuUpload() async throws {
        // Not a multiple of the 1 MiB chunk, so the last short chunk is exercised too.
        let size = 3 << 20 + 12_345
        var generator = SystemRandomNumberGenerator()
        let content = (0..<size).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let source = NSTemporaryDirectory() + "deskpool-upload-\(UUID().uuidString).raw"
        try Data(content).write(to: URL(fileURLWithPath: source))
        defer { try? FileManager.default.removeItem(atPath: source) }

        try await LibvirtSandbox.run(uri: QemuSystemTests.uri) { sandbox in
            let pool = try await sandbox.makeDirPool()
            let volume = try await pool.createVolume(xml: """
                <volume><name>upload.raw</name><capacity unit='bytes'>\(size)</capacity><allocation>0</allocation>\
                <target><format type='raw'/></target></volume>
                """)
            let sent = try await volume.upload(fromFile: source)
            #expect(sent == UInt64(size))
            let written = try #require(FileManager.default.contents(atPath: volume.path))
            #expect(written.count == size)
            #expect([UInt8](written) == content)

            let missing = await #expect(throws: LibvirtError.self) { try await volume.upload(fromFile: "/nonexistent/file") }
            #expect(missing?.code == .systemError)
            #expect(missing?.message.contains("/nonexistent/file") == true)
        }
    }
}
