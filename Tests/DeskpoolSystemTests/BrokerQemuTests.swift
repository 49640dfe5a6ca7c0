import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Testing

/// The broker's flows on real parts: the reconciler, the session broker and the SQLite store
/// in this process, `LibvirtHypervisor` on qemu:///system, guests booted from the tiny test
/// image (TCG here). Desktop names are words and one digit (tesseract misreads hex, and short
/// letter groups such as "pc" or "fl" next to a digit).
@Suite(
    "Broker on qemu:///system with real guests", .serialized,
    .enabled(if: TestTier.tinyGuest.isEnabled, Comment(rawValue: TestTier.tinyGuest.skipReason)))
struct BrokerQemuTests {
    static let templateDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("templates/tiny-linux").path

    /// A broker on a sandbox storage pool, with the tiny template published as version 1.
    /// Every domain named `words-` is removed afterwards, also after a failure.
    static func withBroker(bootTimeout: Int = 600, domainType: String = HostFacts.acceleration().domainType, gateway: GatewayConfiguration? = nil,
                           sessionOptions: SessionService.Options = .init(debounce: 2, tick: .milliseconds(100), reviewInterval: 0.5),
                           tls: [String: VirtViewerFile.TLS] = [:],
                           _ body: (BrokerHarness, LibvirtSandbox, LibvirtHypervisor, String) async throws -> Void) async throws {
        let words = GuestConsole.ocrFriendlyWords
        let prefix = "\(words.randomElement()!)-\(words.randomElement()!)-"
        try await LibvirtSandbox.run(uri: "qemu:///system") { sandbox in
            let pool = try await sandbox.makeDirPool()
            let hypervisor = LibvirtHypervisor(host: "local", connection: sandbox.connection, storagePool: pool.name,
                                               domainType: domainType, instance: String(sandbox.prefix.dropLast()))
            var broker = BrokerConfiguration()
            broker.instance = hypervisor.instance
            broker.backoffBaseSeconds = 600
            broker.sweepIntervalSeconds = 1
            let harness = BrokerHarness(store: try SQLiteStore.inMemory(), hypervisors: [hypervisor],
                                        options: .init(broker: broker, hostLimits: ["local": 4], probeInterval: .milliseconds(500)),
                                        gateway: gateway, sessionOptions: sessionOptions, tls: tls)
            var template = try TemplateDefinition.load(directory: templateDirectory)
            template.bootTimeoutSeconds = bootTimeout
            try await harness.admin.applyTemplate(template, actor: "admin:test")
            _ = try await harness.admin.publishVersion(template: "tiny-linux", from: .file(TestTier.tinyImagePath), note: "tiny", actor: "admin:test")
            let result: Result<Void, any Error>
            do { result = .success(try await body(harness, sandbox, hypervisor, prefix)) } catch { result = .failure(error) }
            for listing in (try? await sandbox.connection.listDomains()) ?? [] where listing.domain.name.hasPrefix(prefix) {
                try? await listing.domain.destroy()
                try? await listing.domain.undefine()
            }
            try result.get()
        }
    }

    static func pool(_ name: String, prefix: String, assignment: PoolSpec.Assignment = .floating, spare: Int, max: Int = 6, version: PoolSpec.VersionChoice = .latest) -> PoolSpec {
        PoolSpec(name: name, template: "tiny-linux", version: version, assignment: assignment, max: max, spare: spare,
                 naming: NamePattern("\(prefix)\(name)-{n}"), users: ["alice", "bob"])
    }

    @Test("spare 3: three ready linked clones of the version's base; each guest reports its own name through the agent and shows it on its console")
    func spares() async throws {
        try await Self.withBroker { h, sandbox, hypervisor, prefix in
            try await h.admin.applyPool(Self.pool("spare", prefix: prefix, spare: 3), actor: "admin:test")
            try await h.running {
                try await h.wait(for: "3 ready desktops", timeout: .seconds(600), poll: .seconds(1)) {
                    try await h.desktops("spare", in: [.ready]).count == 3
                }
            }
            let desktops = try await h.store.desktops(pool: "spare")
            #expect(desktops.map(\.name) == ["\(prefix)spare-1", "\(prefix)spare-2", "\(prefix)spare-3"])
            let pool = try await sandbox.connection.storagePool(named: hypervisor.storagePool)
            let base = try await pool.volume(named: TemplateVersion.volumeName(template: "tiny-linux", number: 1))
            for desktop in desktops {
                let clone = try await pool.volume(named: desktop.volumeName)
                let info = try JSONSerialization.jsonObject(with: try Command.output("/usr/bin/qemu-img", ["info", "--output=json", "-U", clone.path])) as? [String: Any]
                #expect(info?["backing-filename"] as? String == base.path, "\(desktop.name) must be a linked clone of the base volume")
                let domain = try await sandbox.connection.domain(named: desktop.name)
                #expect(try await GuestConsole.exec(domain, path: "/bin/cat", arguments: ["/run/deskpool-name"]) == desktop.name + "\n")
                try await GuestConsole.waitForName(domain, desktop.name)
            }
        }
    }

    @Test("logoff action shutdown: a dedicated desktop's guest shuts down through its agent, its domain and disk stay; the user's next request boots them again")
    func shutdownAtLogoff() async throws {
        try await Self.withBroker { h, sandbox, _, prefix in
            var spec = Self.pool("off", prefix: prefix, assignment: .dedicated, spare: 1)
            spec.session.logoffAction = .shutdown
            try await h.admin.applyPool(spec, actor: "admin:test")
            try await h.running {
                try await h.wait(for: "a ready desktop", timeout: .seconds(600), poll: .seconds(1)) { try await h.desktops("off", in: [.ready]).count == 1 }
                guard case .assigned(let desktop) = try await h.broker.request(.init(user: "bob"), pool: "off") else {
                    Issue.record("expected an assignment")
                    return
                }
                let domain = try await sandbox.connection.domain(named: desktop.name)
                let uuid = domain.uuid
                try await h.broker.logoff(desktop: desktop.id, by: "bob")
                try await h.wait(for: "off", timeout: .seconds(120), poll: .seconds(1)) { try await h.store.desktop(id: desktop.id)?.state == .off }
                #expect(try await domain.isActive() == false, "the guest is shut down")
                #expect(try await sandbox.connection.domain(named: desktop.name).uuid == uuid, "the same domain is kept")
                guard case .preparing(let starting, _) = try await h.broker.request(.init(user: "bob"), pool: "off") else {
                    Issue.record("expected the desktop to start again")
                    return
                }
                #expect(starting.id == desktop.id)
                try await h.wait(for: "assigned again", timeout: .seconds(600), poll: .seconds(1)) { try await h.store.desktop(id: desktop.id)?.state == .assigned }
                let back = try await sandbox.connection.domain(named: desktop.name)
                #expect(back.uuid == uuid)
                let record = try #require(try await h.store.desktop(id: desktop.id))
                #expect(record.incarnation == desktop.incarnation && record.volumeName == desktop.volumeName, "the same disk, not a new clone")
                #expect(try await GuestConsole.exec(back, path: "/bin/cat", arguments: ["/run/deskpool-name"]) == desktop.name + "\n")
            }
        }
    }

    @Test("request -> assigned; logoff -> refreshed: the old domain and volume are gone, a new clean one is ready; a dedicated user gets the same desktop back")
    func sessions() async throws {
        try await Self.withBroker { h, sandbox, hypervisor, prefix in
            try await h.admin.applyPool(Self.pool("fl", prefix: prefix, spare: 1), actor: "admin:test")
            try await h.admin.applyPool(Self.pool("dd", prefix: prefix, assignment: .dedicated, spare: 1), actor: "admin:test")
            try await h.running {
                try await h.wait(for: "ready desktops", timeout: .seconds(600), poll: .seconds(1)) {
                    let floating = try await h.desktops("fl", in: [.ready]).count
                    let dedicated = try await h.desktops("dd", in: [.ready]).count
                    return floating == 1 && dedicated == 1
                }
            }
            // Sessions run with the reconciler stopped, so that no pass acts on a record read
            // before a logoff (it would provision a spare, then retire one: correct, but not
            // the refresh under test).
            do {
                // Floating: assigned, then refreshed at logoff.
                guard case .assigned(let desktop) = try await h.broker.request(.init(user: "alice"), pool: "fl") else {
                    Issue.record("expected an assignment")
                    return
                }
                let oldDomain = try await sandbox.connection.domain(named: desktop.name)
                let oldUUID = oldDomain.uuid
                let pool = try await sandbox.connection.storagePool(named: hypervisor.storagePool)
                // Something the user left behind, which a refresh must not keep.
                _ = try await GuestConsole.exec(oldDomain, path: "/bin/sh", arguments: ["-c", "echo secret > /run/left-behind"])
                try await h.broker.logoff(desktop: desktop.id, by: "alice")
                try await h.running {
                    try await h.wait(for: "the refreshed desktop to be ready", timeout: .seconds(600), poll: .seconds(1)) {
                        let d = try await h.store.desktop(id: desktop.id)
                        return d?.state == .ready && d?.incarnation == 2
                    }
                }
                let fresh = try await sandbox.connection.domain(named: desktop.name)
                #expect(fresh.uuid != oldUUID)
                try await pool.refresh()
                let volumes = try await pool.volumes().map(\.name)
                #expect(!volumes.contains(desktop.volumeName))
                #expect(volumes.contains(try #require(try await h.store.desktop(id: desktop.id)).volumeName))
                let leftover = try await GuestConsole.exec(fresh, path: "/bin/sh", arguments: ["-c", "cat /run/left-behind 2>/dev/null; true"])
                #expect(leftover.isEmpty)

                // Dedicated: the same desktop back after logoff.
                guard case .assigned(let mine) = try await h.broker.request(.init(user: "bob"), pool: "dd") else {
                    Issue.record("expected an assignment")
                    return
                }
                let uuid = try await sandbox.connection.domain(named: mine.name).uuid
                try await h.broker.logoff(desktop: mine.id, by: "bob")
                guard case .assigned(let again) = try await h.broker.request(.init(user: "bob"), pool: "dd") else {
                    Issue.record("expected the same desktop")
                    return
                }
                #expect(again.id == mine.id)
                #expect(try await sandbox.connection.domain(named: again.name).uuid == uuid)
            }
        }
    }

    @Test("a version whose image does not boot: not ready, failed with the reason, backing off; the other pool is untouched")
    func brokenVersions() async throws {
        try await Self.withBroker(bootTimeout: 25) { h, sandbox, hypervisor, prefix in
            // An image with no boot sector: SeaBIOS finds nothing, the agent never answers.
            let blank = sandbox.directory + "/blank.qcow2"
            _ = try Command.output("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", blank, "64M"])
            let bad = try await h.admin.publishVersion(template: "tiny-linux", from: .file(blank), note: "does not boot", actor: "admin:test")
            try await h.admin.applyPool(Self.pool("ok", prefix: prefix, spare: 1, version: .pinned(1)), actor: "admin:test")
            try await h.admin.applyPool(Self.pool("nb", prefix: prefix, spare: 1, version: .pinned(bad.number)), actor: "admin:test")
            try await h.running {
                try await h.wait(for: "the good pool ready and the bad one failed", timeout: .seconds(600), poll: .seconds(1)) {
                    let ready = try await h.desktops("ok", in: [.ready]).count
                    let failed = try await h.desktops("nb", in: [.failed]).count
                    return ready == 1 && failed > 0
                }
                let passes = h.reconciler.passes
                try await h.wait(for: "more passes", timeout: .seconds(60), poll: .seconds(1)) { h.reconciler.passes > passes + 3 }
            }
            let failed = try await h.store.desktops(pool: "nb")
            #expect(failed.count == 1, "one attempt, then backoff: \(failed.map { "\($0.name) \($0.state)" })")
            #expect(failed.first?.reason?.contains("did not become ready within 25 s") == true)
            #expect(h.reconciler.health(pool: "nb").failures == 1)
            let ok = try await h.store.desktops(pool: "ok")
            #expect(ok.map(\.state) == [.ready])
            #expect(try await hypervisor.probe(named: ok[0].name) == .ready)
        }
    }

    /// On this machine kind KVM is nested through kvm_pvm: firmware runs, Linux guests stop
    /// with "KVM internal error". A host configured for KVM there must not count them ready.
    static var kvmIsBrokenHere: Bool { TestTier.kvmCannotRunLinuxGuests }

    @Test("a host whose KVM stops guests on an internal error: the desktop fails with that reason, not counted ready",
          .enabled(if: kvmIsBrokenHere, "only where /dev/kvm exists but is nested through kvm_pvm"))
    func kvmInternalError() async throws {
        try await Self.withBroker(domainType: "kvm") { h, _, _, prefix in
            try await h.admin.applyPool(Self.pool("kv", prefix: prefix, spare: 1), actor: "admin:test")
            try await h.running {
                try await h.wait(for: "the desktop to fail", timeout: .seconds(300), poll: .seconds(1)) {
                    try await !h.desktops("kv", in: [.failed]).isEmpty
                }
            }
            let desktops = try await h.store.desktops(pool: "kv")
            #expect(desktops.count == 1)
            #expect(desktops.first?.reason?.contains("internal error") == true, "\(desktops.first?.reason ?? "")")
            #expect(h.reconciler.health(pool: "kv").lastError?.contains("internal error") == true)
        }
    }
}
