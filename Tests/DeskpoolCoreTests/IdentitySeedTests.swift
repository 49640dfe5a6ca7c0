import DeskpoolCore
import DeskpoolTestRigs
import Foundation
import Testing
import Yams

/// The NoCloud seed: what it says, that no value can add a key, that secrets stay out of
/// logs and errors, and (with the real tools) that cloud-init accepts it and the `cidata`
/// volume reads as a guest's tools read it.
@Suite("Identity seed (cloud-init NoCloud)")
struct IdentitySeedTests {
    static let desktop = DesktopIdentity(id: "3f2b8c1e-0d4a-4b7e-9c55-2a1f6e8d9b00", name: "Eng_001", pool: "eng", template: "debian-cloud",
                                         version: 2, incarnation: 3, generation: 1)

    static func render(_ settings: IdentitySettings, secrets: [String: String] = [:]) throws -> IdentitySeed {
        try IdentitySeed.render(desktop: desktop, settings: settings) { (name: String) throws(DeskpoolError) -> String in
            guard let value = secrets[name] else { throw DeskpoolError(.notFound, "no secret \(name)") }
            return value
        }
    }

    static func yaml(_ text: String) throws -> [String: Any] {
        try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    @Test("meta-data: the instance is the desktop's id and incarnation, the host name its name made a host name")
    func metaData() throws {
        let seed = try Self.render(IdentitySettings())
        let meta = try Self.yaml(seed.metaData)
        #expect(meta["instance-id"] as? String == "3f2b8c1e-0d4a-4b7e-9c55-2a1f6e8d9b00-3")
        #expect(meta["local-hostname"] as? String == "eng-001")
        let user = try Self.yaml(seed.userData)
        #expect(seed.userData.hasPrefix("#cloud-config\n"))
        #expect(user["hostname"] as? String == "eng-001")
        #expect(user["ssh_deletekeys"] as? Bool == true)
        #expect("\(user["bootcmd"] ?? "")".contains("systemd-machine-id-setup"), "a new machine-id per instance")
    }

    @Test("host names from patterns", arguments: [
        ("{name}", "Eng_001", "eng", "eng-001"),
        ("{pool}-{name}", "a.b", "Lab", "lab-a-b"),
        ("-{name}-", "x", "p", "x"),
        ("{name}", String(repeating: "a", count: 80), "p", String(repeating: "a", count: 63)),
    ])
    func hostNames(pattern: String, name: String, pool: String, expected: String) {
        #expect(IdentitySettings.hostName(pattern: pattern, desktop: name, pool: pool) == expected)
    }

    @Test("no value can add or change a key: hostile names, keys and scripts stay strings")
    func escaping() throws {
        let script = "#!/bin/sh\necho 'done' > /tmp/x\nruncmd: [evil]\n- rm -rf /\n\"quoted\" \\ back\u{7f}"
        let settings = IdentitySettings(domain: "example.org",
                                        users: [.init(name: "student", groups: ["users"], sudo: true,
                                                      sshAuthorizedKeys: ["ssh-ed25519 AAAAC3Nz key: value # comment"])],
                                        firstBoot: script,
                                        domainJoin: .init(command: "realm join --one-time-password=\"$DESKPOOL_JOIN_PASSWORD\" example.org", passwordSecret: "ad"))
        let seed = try Self.render(settings, secrets: ["ad": "p@ss: word\n- injected: true"])
        let user = try Self.yaml(seed.userData)
        #expect(Set(user.keys) == ["hostname", "preserve_hostname", "manage_etc_hosts", "fqdn", "users", "ssh_deletekeys", "bootcmd", "write_files", "runcmd"])
        let files = try #require(user["write_files"] as? [[String: Any]])
        #expect(files.first { $0["path"] as? String == "/run/deskpool/first-boot" }?["content"] as? String == script)
        #expect(files.first { $0["path"] as? String == "/run/deskpool/join-password" }?["content"] as? String == "p@ss: word\n- injected: true")
        let users = try #require(user["users"] as? [[String: Any]])
        #expect(users.first?["ssh_authorized_keys"] as? [String] == ["ssh-ed25519 AAAAC3Nz key: value # comment"])
        #expect(user["fqdn"] as? String == "eng-001.example.org")
        // The seed's description never shows the password.
        #expect(!"\(seed)".contains("p@ss"))
    }

    @Test("a hostile or malformed identity is refused with its field", arguments: [
        (IdentitySettings(hostname: "{name}\nruncmd"), "identity.hostname"),
        (IdentitySettings(hostname: "{nom}"), "identity.hostname"),
        (IdentitySettings(domain: "example.org\nx: y"), "identity.domain"),
        (IdentitySettings(users: [.init(name: "Root Admin")]), "identity.users"),
        (IdentitySettings(users: [.init(name: "ok", groups: ["wheel\n"])]), "identity.users.groups"),
        (IdentitySettings(users: [.init(name: "ok", sshAuthorizedKeys: ["ssh-ed25519 AAAA\nssh-rsa BBBB"])]), "identity.users.sshAuthorizedKeys"),
        (IdentitySettings(users: [.init(name: "ok", sshAuthorizedKeys: ["not a key"])]), "identity.users.sshAuthorizedKeys"),
        (IdentitySettings(firstBoot: String(repeating: "x", count: 70_000)), "identity.firstBoot"),
        (IdentitySettings(domainJoin: .init(command: "realm join\nx")), "identity.domainJoin.command"),
        (IdentitySettings(domainJoin: .init(command: "realm join", passwordSecret: "../etc/shadow")), "identity.domainJoin.passwordSecret"),
    ])
    func refusals(settings: IdentitySettings, field: String) {
        let error = #expect(throws: DeskpoolError.self) { try settings.validate() }
        #expect(error?.code == .invalidInput && error?.field == field)
    }

    @Test("a secret the configuration does not have is refused when the pool is applied")
    func unknownSecret() {
        let settings = IdentitySettings(domainJoin: .init(command: "realm join", passwordSecret: "ad"))
        #expect(throws: Never.self) { try settings.validate(secrets: ["ad"]) }
        let error = #expect(throws: DeskpoolError.self) { try settings.validate(secrets: ["other"]) }
        #expect(error?.field == "identity.domainJoin.passwordSecret")
    }

    @Test("a secret that cannot be read fails the rendering with the reading's error, without a value")
    func unreadableSecret() {
        let settings = IdentitySettings(domainJoin: .init(command: "realm join", passwordSecret: "ad"))
        let error = #expect(throws: DeskpoolError.self) { _ = try Self.render(settings) }
        #expect(error?.code == .notFound)
    }

    @Test("the cidata volume: FAT12 labelled CIDATA, the files under their long names, byte for byte",
          .enabled(if: TestTier.seedTools.isEnabled, Comment(rawValue: TestTier.seedTools.skipReason)))
    func volumeReadsBack() throws {
        let seed = try Self.render(IdentitySettings(users: [.init(name: "student")], firstBoot: String(repeating: "echo 1\n", count: 200)))
        let image = try SeedImage.make(files: seed.files + [("network-config", Array("version: 2\n".utf8))])
        #expect(image.count == 1 << 20)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-seed-\(UUID().uuidString).img")
        try Data(image).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try Command.text("/usr/sbin/blkid", ["-o", "value", "-s", "LABEL", file.path]).trimmingCharacters(in: .whitespacesAndNewlines) == "CIDATA")
        #expect(try Command.text("/usr/sbin/blkid", ["-o", "value", "-s", "TYPE", file.path]).trimmingCharacters(in: .whitespacesAndNewlines) == "vfat")
        _ = try Command.text("/usr/sbin/fsck.fat", ["-n", file.path])  // throws on a non-zero exit: an inconsistent file system
        let listing = try Command.text("/usr/bin/mdir", ["-i", file.path, "-b", "::"])
        #expect(Set(listing.split(separator: "\n").map { String($0) }) == ["::/meta-data", "::/user-data", "::/network-config"])
        for (name, bytes) in seed.files {
            let read = try Command.output("/usr/bin/mtype", ["-i", file.path, "::\(name)"])
            #expect(Array(read) == bytes, "\(name) reads back byte for byte")
        }
    }

    @Test("cloud-init accepts the user-data (its own schema check)",
          .enabled(if: TestTier.seedTools.isEnabled, Comment(rawValue: TestTier.seedTools.skipReason)))
    func cloudInitSchema() throws {
        let settings = IdentitySettings(domain: "example.org", users: [.init(name: "student", groups: ["users", "audio"], sudo: true,
                                                                             sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE student@lab"])],
                                        firstBoot: "#!/bin/sh\ntouch /var/lib/deskpool-first-boot\n",
                                        domainJoin: .init(command: "echo join", passwordSecret: "ad"))
        let seed = try Self.render(settings, secrets: ["ad": "secret"])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-user-data-\(UUID().uuidString)")
        try Data(seed.userData.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = try Command.text("/usr/bin/cloud-init", ["schema", "--config-file", file.path])
        #expect(output.contains("Valid cloud-config") || output.contains("Valid schema"), "cloud-init schema said: \(output)")
    }

    @Test("seed files that do not fit or have odd names are refused")
    func volumeLimits() {
        #expect(throws: DeskpoolError.self) { _ = try SeedImage.make(files: [("user-data", [UInt8](repeating: 1, count: SeedImage.capacity + 1))]) }
        #expect(throws: DeskpoolError.self) { _ = try SeedImage.make(files: [("../x", [1])]) }
    }
}
