import DeskpoolCore
import Foundation
import Testing

/// Pool files and template directories: read strictly, refused whole with the line and the
/// field named.
@Suite("Pool files and template definitions")
struct DefinitionFileTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("the shipped example pool file and tiny-linux template load")
    func shipped() throws {
        let pool = try PoolSpec.load(file: Self.repository.appendingPathComponent("etc/pools/tiny.yaml").path)
        #expect(pool.name == "tiny")
        #expect(pool.template == "tiny-linux")
        #expect(pool.version == .latest)
        #expect(pool.spare == 2)
        #expect(pool.naming.name(7) == "tiny-007")
        let template = try TemplateDefinition.load(directory: Self.repository.appendingPathComponent("templates/tiny-linux").path)
        #expect(template.name == "tiny-linux")
        #expect(template.memoryMiB == 256)
        #expect(template.domainXML.contains("<domain"))
    }

    @Test("a pool file with every key")
    func full() throws {
        let yaml = """
            name: lab
            template: win11
            version: 3
            assignment: dedicated
            min: 2
            max: 20
            spare: 4
            naming: "lab{n:02}"
            users: [alice]
            groups: [lab-users]
            maxPerUser: 2
            hosts: [kvm1, kvm2]
            """
        let pool = try YAMLConfigDecoder.decode(PoolSpec.self, yaml: yaml)
        #expect(pool == PoolSpec(name: "lab", template: "win11", version: .pinned(3), assignment: .dedicated, min: 2, max: 20, spare: 4,
                                 naming: NamePattern("lab{n:02}"), users: ["alice"], groups: ["lab-users"], maxPerUser: 2, hosts: ["kvm1", "kvm2"]))
    }

    @Test("bad pool files are refused with the line and the field", arguments: [
        ("name: p\ntemplate: t\nspares: 3\n", ConfigurationError.Code.unknownKey, 3, "spares"),
        ("name: p\ntemplate: t\nmax: -1\n", .invalidValue, 3, "max must not be negative"),
        ("name: p\ntemplate: t\nmin: 5\nmax: 2\n", .invalidValue, 3, "min (5) must not exceed max (2)"),
        ("name: p\ntemplate: t\nspare: 11\n", .invalidValue, 3, "spare (11) must not exceed max (10)"),
        ("name: p\ntemplate: t\nversion: newest\n", .invalidValue, 3, "latest or a version number"),
        ("name: p\ntemplate: t\nassignment: shared\n", .invalidValue, 3, "floating or dedicated"),
        ("name: p\ntemplate: t\nnaming: \"eng-{x}\"\n", .invalidValue, 3, "naming"),
        ("name: p\ntemplate: t\nnaming: \"../{n}\"\n", .invalidValue, 3, "naming"),
        ("name: \"p q\"\ntemplate: t\n", .invalidValue, 1, "name"),
        ("name: p\ntemplate: t\nusers: [\"al ice\"]\n", .invalidValue, 3, "users"),
        ("template: t\n", .invalidValue, 1, "name is required"),
        ("name: p\ntemplate: t\nconsole:\n  ticketSeconds: 301\n", .invalidValue, 4, "ticketSeconds must be between 1 and 300"),
        ("name: p\ntemplate: t\nconsole:\n  takeover: steal\n", .invalidValue, 4, "disconnect or refuse"),
        ("name: p\ntemplate: t\nconsole:\n  usbredirection: true\n", .unknownKey, 4, "usbredirection"),
        ("name: p\ntemplate: t\nconsole:\n  secureAttentionKey: \"ctrl+alt+del\\nproxy=x\"\n", .invalidValue, 4, "keys joined by '+'"),
        ("name: p\ntemplate: t\nconsole:\n  usbFilter: \"any\"\n", .invalidValue, 4, "usbFilter"),
        ("name: p\ntemplate: t\nsession:\n  logoffAction: reboot\n", .invalidValue, 4, "refresh, shutdown or keep"),
        ("name: p\ntemplate: t\nsession:\n  disconnectTimeoutSeconds: -1\n", .invalidValue, 4, "between 0 and"),
        ("name: p\ntemplate: t\nsession:\n  logoffAction: keep\n", .invalidValue, 4, "floating pool"),
    ])
    func badPools(yaml: String, code: ConfigurationError.Code, line: Int, mention: String) {
        let error = #expect(throws: ConfigurationError.self) { _ = try YAMLConfigDecoder.decode(PoolSpec.self, yaml: yaml, file: "pool.yaml") }
        #expect(error?.code == code)
        #expect(error?.line == line, "\(error?.description ?? "")")
        #expect(error?.description.contains(mention) == true, "\(error?.description ?? "")")
    }

    @Test("bad template definitions are refused with the line and the key", arguments: [
        ("vcpus: 1\nmemory: 256\n", ConfigurationError.Code.unknownKey, 2, "memory"),
        ("memoryMiB: -5\n", .invalidValue, 1, "memoryMiB must be between"),
        ("vcpus: 0\n", .invalidValue, 1, "vcpus must be between"),
        ("domain: ../../etc/passwd\n", .invalidValue, nil, "not a path"),
        ("domain: missing.xml\n", .unreadable, nil, "cannot read the domain XML"),
    ] as [(String, ConfigurationError.Code, Int?, String)])
    func badTemplates(yaml: String, code: ConfigurationError.Code, line: Int?, mention: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dp-template-\(UUID().uuidString)/bad")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try yaml.write(to: directory.appendingPathComponent("template.yaml"), atomically: true, encoding: .utf8)
        try "<domain type='kvm'/>".write(to: directory.appendingPathComponent("domain.xml"), atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigurationError.self) { _ = try TemplateDefinition.load(directory: directory.path) }
        #expect(error?.code == code)
        if let line { #expect(error?.line == line) }
        #expect(error?.description.contains(mention) == true, "\(error?.description ?? "")")
    }

    @Test("console and session policies: set values are taken, the rest keep their defaults")
    func policies() throws {
        let yaml = """
            name: lab
            template: win11
            assignment: dedicated
            console:
              ticketSeconds: 60
              takeover: refuse
              usbRedirection: true
              usbFilter: "0x08,-1,-1,-1,0|-1,-1,-1,-1,1"
              microphone: false
            session:
              disconnectTimeoutSeconds: 3600
              logoffAction: refresh
              maxSessionSeconds: 28800
            """
        let pool = try YAMLConfigDecoder.decode(PoolSpec.self, yaml: yaml)
        #expect(pool.console.ticketSeconds == 60)
        #expect(pool.console.takeover == .refuse)
        #expect(pool.console.forbiddenChannels == [.smartcard, .record])
        #expect(pool.console.gateway)
        #expect(pool.session.action(for: pool.assignment) == .refresh)
        #expect(pool.session.maxSessionSeconds == 28800)
        #expect(pool.session.unconnectedTimeoutSeconds == 600)
        // Stored as JSON and read back whole.
        let stored = try JSONDecoder().decode(PoolSpec.self, from: JSONEncoder().encode(pool))
        #expect(stored == pool)
        #expect(PoolSpec(name: "d", template: "t", assignment: .dedicated).session.action(for: .dedicated) == .keep)
        let shutdown = try YAMLConfigDecoder.decode(PoolSpec.self, yaml: "name: d\ntemplate: t\nassignment: dedicated\nsession:\n  logoffAction: shutdown\n")
        #expect(shutdown.session.action(for: .dedicated) == .shutdown)
    }

    @Test("naming patterns", arguments: [
        ("eng-{n:03}", 7, "eng-007"), ("lab{n}", 12, "lab12"), ("{n:02}-desk", 3, "03-desk"), ("a{n:02}b", 123, "a123b"),
    ])
    func naming(pattern: String, n: Int, expected: String) throws {
        #expect(try #require(NamePattern(pattern)).name(n) == expected)
    }
}
