import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Testing

/// Identity seeds through the broker on the fake hypervisor: every clone gets its own seed,
/// a refresh is a new instance, the seed volume goes with the desktop, the identity gate holds
/// a desktop back until the guest reports its host name, and a missing secret fails with the
/// reason, not the value.
@Suite("Identity seeds through the broker")
struct IdentityProvisioningTests {
    static func template(requireApplied: Bool = false, bootTimeoutSeconds: Int = 5) -> TemplateDefinition {
        TemplateDefinition(name: "cloud", vcpus: 1, memoryMiB: 256, bootTimeoutSeconds: bootTimeoutSeconds, domainXML: "<domain/>",
                           identity: TemplateIdentity(seed: .nocloud, requireApplied: requireApplied))
    }

    static func harness(_ fake: FakeHypervisor, template: TemplateDefinition = template(), secrets: Secrets = Secrets()) async throws -> BrokerHarness {
        let harness = BrokerHarness(store: try SQLiteStore.inMemory(), hypervisors: [fake],
                                    options: .init(probeInterval: .milliseconds(5), secrets: secrets))
        try await harness.admin.applyTemplate(template, actor: "admin:test")
        _ = try await harness.admin.publishVersion(template: "cloud", from: .file("/images/cloud.qcow2"), note: "first", actor: "admin:test")
        return harness
    }

    static func pool(spare: Int = 2, _ configure: (inout PoolSpec) -> Void = { _ in }) -> PoolSpec {
        var pool = PoolSpec(name: "lab", template: "cloud", max: 4, spare: spare, naming: NamePattern("lab_{n:02}"), users: ["alice"])
        configure(&pool)
        return pool
    }

    @Test("each clone its own seed: instance = id and incarnation, host name from the pattern; a refresh is a new instance; the seed volume goes with the desktop")
    func seeds() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        // min 3 = one in session + 2 spares: the refreshed desktop is never a spare too many, which
        // the broker could retire instead of refreshing it (it did, when the machine was slow).
        try await h.admin.applyPool(Self.pool {
            $0.min = 3
            $0.identity = IdentitySettings(hostname: "{pool}-{name}", users: [.init(name: "student")])
        }, actor: "admin:test")
        try await h.running {
            try await h.wait(for: "three ready", timeout: .seconds(60)) { try await h.desktops("lab", in: [.ready]).count == 3 }
            let desktops = try await h.desktops("lab", in: [.ready])
            let seeds = try desktops.map { try #require(fake.seed(of: $0.name)) }
            #expect(Set(seeds.map(\.instanceID)) == Set(desktops.map { "\($0.id)-\($0.incarnation)" }))
            #expect(Set(seeds.map(\.hostname)) == Set(desktops.map { "lab-" + $0.name.replacingOccurrences(of: "_", with: "-") }))
            #expect(seeds.allSatisfy { $0.userData.contains("\"student\"") })
            let volumes = try await fake.deskpoolVolumes()
            for desktop in desktops { #expect(volumes.contains(DesktopIdentity.seedVolumeName(ofVolume: desktop.volumeName))) }

            // Assigned, logged off, refreshed: the same desktop is a new instance.
            let first = try #require(desktops.first)
            guard case .assigned(let held) = try await h.broker.request(.init(user: "alice"), pool: "lab") else { throw TimeoutError(what: "an assigned desktop", duration: .zero) }
            let before = try #require(fake.seed(of: held.name)).instanceID
            try await h.broker.logoff(desktop: held.id, by: "alice")
            try await h.wait(for: "refreshed", timeout: .seconds(60)) {
                guard let record = try await h.store.desktop(id: held.id) else { return false }
                return record.state == .ready && record.incarnation > held.incarnation
            }
            let after = try #require(fake.seed(of: held.name)).instanceID
            #expect(after != before && after.hasPrefix(held.id))
            let now = try await fake.deskpoolVolumes()
            #expect(!now.contains(DesktopIdentity.seedVolumeName(ofVolume: held.volumeName)), "the old incarnation's seed is gone")
            _ = first
        }
    }

    @Test("the identity gate: ready only once the guest reports its seed's host name; an image that ignores its seed fails with the reason")
    func gate() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake, template: Self.template(requireApplied: true, bootTimeoutSeconds: 30))
        try await h.admin.applyPool(Self.pool(spare: 1), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "one ready", timeout: .seconds(60)) { try await h.desktops("lab", in: [.ready]).count == 1 }
        }
        let fake2 = FakeHypervisor(host: "a")
        let h2 = try await Self.harness(fake2, template: Self.template(requireApplied: true, bootTimeoutSeconds: 2))
        try await h2.admin.applyPool(Self.pool(spare: 1), actor: "admin:test")
        fake2.ignoreIdentity(of: "lab_01")  // the pool's first name
        try await h2.running {
            try await h2.wait(for: "the desktop failed", timeout: .seconds(60)) { try await !h2.desktops("lab", in: [.failed]).isEmpty }
            let failed = try #require(try await h2.desktops("lab", in: [.failed]).first)
            #expect(failed.reason?.contains("did not apply its identity") == true)
            #expect(failed.reason?.contains("localhost") == true && failed.reason?.contains("expected 'lab-01'") == true)
        }
    }

    @Test("a join password comes from the secret's file into the seed only; an unreadable secret fails the desktop without a value")
    func secrets() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("ad-join")
        try Data("s3cr3t-join\n".utf8).write(to: file)
        let secrets = Secrets(files: ["ad": file.path, "gone": directory.appendingPathComponent("missing").path])
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake, secrets: secrets)
        // A secret the configuration does not have is refused when the pool is applied.
        let refused = await #expect(throws: DeskpoolError.self) {
            _ = try await h.admin.applyPool(Self.pool { $0.identity = IdentitySettings(domainJoin: .init(command: "realm join", passwordSecret: "nope")) },
                                            actor: "admin:test")
        }
        #expect(refused?.field == "identity.domainJoin.passwordSecret")
        try await h.admin.applyPool(Self.pool(spare: 1) { $0.identity = IdentitySettings(domainJoin: .init(command: "realm join x", passwordSecret: "ad")) },
                                    actor: "admin:test")
        try await h.running {
            try await h.wait(for: "one ready", timeout: .seconds(60)) { try await h.desktops("lab", in: [.ready]).count == 1 }
            let desktop = try #require(try await h.desktops("lab", in: [.ready]).first)
            let seed = try #require(fake.seed(of: desktop.name))
            #expect(seed.userData.contains("s3cr3t-join") && !seed.userData.contains("s3cr3t-join\\n"))
            let audit = try await h.store.auditLog(subject: nil, limit: 500)
            #expect(!audit.contains { "\($0)".contains("s3cr3t") })
        }
        let fake2 = FakeHypervisor(host: "a")
        let h2 = try await Self.harness(fake2, secrets: secrets)
        try await h2.admin.applyPool(Self.pool(spare: 1) { $0.identity = IdentitySettings(domainJoin: .init(command: "realm join x", passwordSecret: "gone")) },
                                     actor: "admin:test")
        try await h2.running {
            try await h2.wait(for: "the desktop failed", timeout: .seconds(60)) { try await !h2.desktops("lab", in: [.failed]).isEmpty }
            let failed = try #require(try await h2.desktops("lab", in: [.failed]).first)
            #expect(failed.reason?.contains("secret 'gone'") == true)
            #expect(fake2.seed(of: failed.name) == nil, "nothing created without its seed")
        }
    }
}
