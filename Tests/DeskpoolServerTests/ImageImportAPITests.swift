import DeskpoolCore
import DeskpoolServer
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Publishing a version through the API without reading the broker's host: an upload, a file
/// of the import directory, a volume of the pool. Refusals answer 4xx and write nothing.
@Suite("API: image imports")
struct ImageImportAPITests {
    /// A refusal must answer without reading the image (an endless one would never end). The
    /// bound is wide because `scripts/test` runs every suite at once on two cores; the
    /// "within a second" of a real broker is measured by the hostile tier (Tests/e2e).
    static let refusalBound: Duration = .seconds(10)

    /// The rig's broker with an import and an upload directory of its own, a 4 MiB image limit
    /// and a 1 GiB virtual size limit; the global body limit stays 1 MiB.
    struct Rig {
        let rig: ServerTestRig
        let server: DeskpoolHTTPServer
        let images: ImageImportConfiguration
        let root: String

        init() async throws {
            rig = try await ServerTestRig()
            root = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-import-\(UUID().uuidString)").path
            images = ImageImportConfiguration(importDirectory: root + "/import", uploadDirectory: root + "/uploads",
                                              maxImageBytes: 4 << 20, maxVirtualBytes: 1 << 30)
            try OpenedImage.prepareDirectory(images.importDirectory)
            let harness = rig.harness
            // The same store and host, with an import directory.
            let broker = Broker(store: harness.store, hosts: Hosts(harness.hypervisors), configuration: Broker.Configuration(images: images))
            let services = BrokerServices(broker: broker, authenticator: rig.authenticator, adminGroup: "deskpool-admins")
            server = DeskpoolHTTPServer(services: services, configuration: HTTPConfiguration())
        }

        func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
            defer { try? FileManager.default.removeItem(atPath: root) }
            try await Application(router: server.router()).test(.router) { client in try await body(client) }
        }

        /// What a refusal must leave: only version 1, the fake's volumes as before, no staged upload.
        func expectNothingWritten(_ volumes: Set<String>, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            #expect(try await rig.harness.store.versions(template: "tiny").map(\.number) == [1], "\(context)", sourceLocation: sourceLocation)
            #expect(rig.fake.volumeNames() == volumes, "\(context)", sourceLocation: sourceLocation)
            let staged = (try? FileManager.default.contentsOfDirectory(atPath: images.uploadDirectory)) ?? []
            #expect(staged.isEmpty, "\(context): staged \(staged)", sourceLocation: sourceLocation)
        }
    }

    static func upload(_ client: any TestClientProtocol, _ credentials: Credentials?, template: String = "tiny", note: String = "uploaded",
                       _ bytes: [UInt8]) async throws -> (status: HTTPResponse.Status, body: Data) {
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        if let credentials { headers[.authorization] = "Bearer \(credentials.token)" }
        let query = note.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return try await client.execute(uri: "/api/v1/admin/templates/\(template)/versions?note=\(query)", method: .post, headers: headers,
                                        body: ByteBuffer(bytes: bytes)) { ($0.status, Data(buffer: $0.body)) }
    }

    /// A qcow2 v3 header (see ImageInspectorTests) with a backing file reference.
    static func backedQcow2() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 4096)
        bytes[0..<8] = [0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3]
        bytes[8..<16] = [0, 0, 0, 0, 0, 0, 2, 0]  // backing file at offset 512 ...
        bytes[16..<20] = [0, 0, 0, 11]  // ... 11 bytes long
        bytes[20..<24] = [0, 0, 0, 16]
        bytes[24..<32] = [0, 0, 0, 0, 0x40, 0, 0, 0]
        bytes[512..<523] = ArraySlice("/etc/passwd".utf8)
        return bytes
    }

    @Test("an upload publishes a version: streamed past the body limit, inspected, the staging file removed")
    func uploadPublishes() async throws {
        let rig = try await Rig()
        try await rig.test { client in
            let root = try await client.login("root")
            // 2 MiB: over http.maxBodyBytes (1 MiB), within images.maxImageBytes (4 MiB).
            let image = [UInt8](repeating: 0x5A, count: 2 << 20)
            let answer = try await Self.upload(client, root, note: "from my laptop", image)
            #expect(answer.status == .created, "\(answer.body.text)")
            let version = try answer.body.decoded(TemplateVersion.self)
            #expect(version.number == 2 && version.note == "from my laptop" && version.published)
            #expect(rig.rig.fake.importedImage(version.volume) == ImageInspector.Facts(format: .raw, virtualBytes: 2 << 20, fileBytes: 2 << 20))
            #expect(try FileManager.default.contentsOfDirectory(atPath: rig.images.uploadDirectory).isEmpty)
        }
    }

    @Test("refused uploads: too large (413), a backing file, not an admin, no such template, a bad note; nothing written")
    func uploadRefusals() async throws {
        let rig = try await Rig()
        let volumes = rig.rig.fake.volumeNames()
        try await rig.test { client in
            let root = try await client.login("root")
            let alice = try await client.login("alice")
            let cases: [(String, Credentials?, String, String, [UInt8], HTTPResponse.Status, String)] = [
                ("over maxImageBytes", root, "tiny", "x", [UInt8](repeating: 1, count: (4 << 20) + 1), .contentTooLarge, "images.maxImageBytes"),
                ("backing file", root, "tiny", "x", Self.backedQcow2(), .badRequest, "has a backing file"),
                ("empty", root, "tiny", "x", [], .badRequest, "is empty"),
                ("anonymous", nil, "tiny", "x", [1, 2, 3], .unauthorized, ""),
                ("not an admin", alice, "tiny", "x", [1, 2, 3], .forbidden, ""),
                ("no such template", root, "nope", "x", [1, 2, 3], .notFound, "no template named nope"),
                ("bad note", root, "tiny", "a\nb", [1, 2, 3], .badRequest, "one line"),
            ]
            for (name, credentials, template, note, bytes, status, words) in cases {
                let started = ContinuousClock.now
                let answer = try await Self.upload(client, credentials, template: template, note: note, bytes)
                #expect(answer.status == status, "\(name): \(answer.body.text)")
                #expect(words.isEmpty || answer.body.text.contains(words), "\(name): \(answer.body.text)")
                // A second is the bound (the e2e hostile tier checks it on a quiet broker); twice that
                // here, where the whole test target runs in parallel on two cores.
                #expect(ContinuousClock.now - started < Self.refusalBound, "\(name): a refusal answers without reading the image")
                try await rig.expectNothingWritten(volumes, name)
            }
        }
        // A declared length over the limit is refused before the body is read (on a real
        // socket: the test client would set the length from the body it has).
        try await Application(router: rig.server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let root = try await client.login("root")
            let port = try #require(client.port)
            let started = ContinuousClock.now
            let declared = "POST /api/v1/admin/templates/tiny/versions?note=x HTTP/1.1\r\nHost: x\r\n"
                + "Authorization: Bearer \(root.token)\r\nContent-Type: application/octet-stream\r\nContent-Length: \(64 << 30)\r\n\r\nQFI"
            // Blocking socket calls run off the cooperative pool the server needs.
            let line = try await blocking { try TCPProbe.firstLine(port: port, request: declared, timeout: 15) }
            #expect(line.hasPrefix("HTTP/1.1 413 "), "\(line)")
            #expect(ContinuousClock.now - started < Self.refusalBound)
            try await rig.expectNothingWritten(volumes, "declared length")

            // A chunked body that grows past the limit: 413 as it does, the partial staging
            // file removed, and the connection closed rather than the rest read.
            let chunk = String(format: "%x", 1 << 20) + "\r\n" + String(repeating: "A", count: 1 << 20) + "\r\n"
            let chunked = "POST /api/v1/admin/templates/tiny/versions?note=x HTTP/1.1\r\nHost: x\r\n"
                + "Authorization: Bearer \(root.token)\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                + String(repeating: chunk, count: 12)
            let endless = try await blocking { try TCPProbe.firstLine(port: port, request: chunked, timeout: 15) }
            #expect(endless.hasPrefix("HTTP/1.1 413 "), "\(endless)")
            try await rig.expectNothingWritten(volumes, "chunked body past the limit")
        }
    }

    @Test("importFile: a regular file of the import directory publishes; names, symlinks, FIFOs, directories and devices are refused")
    func importFile() async throws {
        let rig = try await Rig()
        let directory = rig.images.importDirectory
        try Data(repeating: 3, count: 8192).write(to: URL(fileURLWithPath: directory + "/golden.img"))
        try Data(Self.backedQcow2()).write(to: URL(fileURLWithPath: directory + "/backed.qcow2"))
        try FileManager.default.createSymbolicLink(atPath: directory + "/inside.img", withDestinationPath: directory + "/golden.img")
        try FileManager.default.createSymbolicLink(atPath: directory + "/zero.img", withDestinationPath: "/dev/zero")
        try FileManager.default.createSymbolicLink(atPath: directory + "/shadow.img", withDestinationPath: "/etc/shadow")
        try FileManager.default.createDirectory(atPath: directory + "/dir.img", withIntermediateDirectories: false)
        #expect(mkfifo(directory + "/fifo.img", 0o600) == 0)
        let volumes = rig.rig.fake.volumeNames()
        try await rig.test { client in
            let root = try await client.login("root")
            let cases: [(String, HTTPResponse.Status, String)] = [
                ("../import/golden.img", .badRequest, "must be the name of a file"), ("/etc/passwd", .badRequest, "must be the name of a file"),
                ("..", .badRequest, "must be the name of a file"), ("sub/golden.img", .badRequest, "must be the name of a file"),
                ("inside.img", .badRequest, "is a symbolic link"), ("zero.img", .badRequest, "is a symbolic link"),
                ("shadow.img", .badRequest, "is a symbolic link"), ("fifo.img", .badRequest, "is a FIFO"),
                ("dir.img", .badRequest, "is a directory"), ("backed.qcow2", .badRequest, "has a backing file"),
                ("missing.img", .notFound, "no file missing.img"),
            ]
            for (name, status, words) in cases {
                let started = ContinuousClock.now
                let answer = try await client.call(.post, "/api/v1/admin/templates/tiny/versions", root.bearer, json: PublishRequest(importFile: name, note: "x"))
                #expect(answer.status == status && answer.body.text.contains(words) && answer.body.text.contains("\"field\":\"importFile\""),
                        "\(name): \(answer.status) \(answer.body.text)")
                #expect(ContinuousClock.now - started < Self.refusalBound, "\(name): a refusal answers at once")
                try await rig.expectNothingWritten(volumes, name)
            }
            let published = try await client.call(.post, "/api/v1/admin/templates/tiny/versions", root.bearer, json: PublishRequest(importFile: "golden.img", note: "x"))
            #expect(published.status == .created, "\(published.body.text)")
            let version = try published.body.decoded(TemplateVersion.self)
            #expect(rig.rig.fake.importedImage(version.volume) == ImageInspector.Facts(format: .raw, virtualBytes: 8192, fileBytes: 8192))
        }
    }

    @Test("imagePath is refused and says what to use; volume: one with a backing file is refused, a clean one publishes")
    func imagePathAndVolumes() async throws {
        let rig = try await Rig()
        rig.rig.fake.addVolume("golden.qcow2")
        rig.rig.fake.addVolume("clone.qcow2", backing: "golden.qcow2")
        let volumes = rig.rig.fake.volumeNames()
        try await rig.test { client in
            let root = try await client.login("root")
            for path in ["/dev/zero", "/etc/shadow", "/var/lib/deskpool/console-token.key"] {
                let answer = try await client.call(.post, "/api/v1/admin/templates/tiny/versions", root.bearer, json: PublishRequest(imagePath: path, note: "x"))
                #expect(answer.status == .badRequest && answer.body.text.contains("importFile") && answer.body.text.contains("\"field\":\"imagePath\""), "\(answer.body.text)")
                try await rig.expectNothingWritten(volumes, path)
            }
            let neither = try await client.call(.post, "/api/v1/admin/templates/tiny/versions", root.bearer, json: PublishRequest(note: "x"))
            #expect(neither.status == .badRequest)
            let both = try await client.call(.post, "/api/v1/admin/templates/tiny/versions", root.bearer, json: PublishRequest(importFile: "a", volume: "b", note: "x"))
            #expect(both.status == .badRequest)
            let backed = try await client.call(.post, "/api/v1/admin/templates/tiny/versions", root.bearer, json: PublishRequest(volume: "clone.qcow2", note: "x"))
            #expect(backed.status == .badRequest && backed.body.text.contains("has a backing file"), "\(backed.body.text)")
            try await rig.expectNothingWritten(volumes, "volume with a backing file")
            let clean = try await client.call(.post, "/api/v1/admin/templates/tiny/versions", root.bearer, json: PublishRequest(volume: "golden.qcow2", note: "x"))
            #expect(clean.status == .created, "\(clean.body.text)")
        }
    }

    @Test("recovery removes a version whose import a crash cut short, with its volume")
    func unfinishedImports() async throws {
        let rig = try await Rig()
        let store = rig.rig.harness.store
        let cut = try await store.beginVersion(template: "tiny", note: "crashed", actor: "admin:test")
        rig.rig.fake.addVolume(cut.volume)
        let admin = Administration(store: store, hypervisors: rig.rig.harness.hypervisors)
        #expect(try await admin.removeUnfinishedImports(actor: "broker") == ["tiny/2"])
        #expect(try await store.versions(template: "tiny").map(\.number) == [1])
        #expect(!rig.rig.fake.volumeNames().contains(cut.volume))
        #expect(rig.rig.fake.volumeNames().contains("dp-base-tiny-v1.qcow2"), "published versions stay")
    }
}
