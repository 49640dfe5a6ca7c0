import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Libvirt
import Testing

/// `deskpool serve` is killed with SIGKILL in the middle of an image-update rollout and
/// started again: the rollout continues from where it was, and no desktop is ever half-way
/// (every record's version is the version in its domain's metadata, or its refresh is
/// under way and finished after the restart).
@Suite(
    "Broker process: kill -9 mid-rollout, restart, the rollout continues", .serialized,
    .enabled(if: TestTier.tinyGuest.isEnabled, Comment(rawValue: TestTier.tinyGuest.skipReason)))
struct RolloutCrashTests {
    @Test("kill -9 while desktops are being updated: after the restart the rollout completes, all on v2, nothing leaked")
    func killNineMidRollout() async throws {
        try await LibvirtSandbox.run(uri: "qemu:///system") { sandbox in
            _ = try await sandbox.makeDirPool()
            let broker = try BrokerProcess(sandbox: sandbox, storagePool: sandbox.name("pool"))
            defer { broker.removeState() }
            try broker.prepare(versions: 2, pool: """
                name: roll
                template: tiny-linux
                version: 1
                assignment: floating
                min: 4
                spare: 4
                max: 4
                naming: "\(sandbox.prefix)r{n:02}"
                users: [alice]
                """)
            let policyFile = broker.state + "/update.yaml"
            try """
                apiVersion: deskpool/v1
                kind: UpdatePolicy
                metadata:
                  name: roll-v2
                spec:
                  selector:
                    pools: [roll]
                  version: 2
                  strategy:
                    canary: 1
                    waveSize: 1
                    maxUnavailable: 1
                    healthGate:
                      timeout: 15m
                """.write(toFile: policyFile, atomically: true, encoding: .utf8)

            try broker.startServe()
            let store = try broker.store()
            try await BrokerCrashTests().wait("4 ready desktops", .seconds(900), broker) {
                try await store.desktops(pool: "roll").filter { $0.state == .ready }.count == 4
            }
            let applied = try broker.run(["local", "policy", "apply", policyFile])
            let id = try #require(applied.split(separator: " ").dropFirst().first.map { String($0.dropLast()) }, "rollout id in: \(applied)")
            // Kill once the canary is done and the next desktop is being refreshed.
            try await BrokerCrashTests().wait("the second desktop under way", .seconds(900), broker) {
                let items = try await store.rolloutItems(rollout: id)
                return items.filter { $0.status == .done }.count >= 1 && items.contains { $0.status == .inProgress }
            }
            broker.kill9()
            let atKill = try await store.desktops(pool: "roll")
            let itemsAtKill = try await store.rolloutItems(rollout: id)
            #expect(try await store.rollout(id: id)?.state == .running)
            // Never half-way: a desktop not under way runs the clone of the version its record says.
            let metadata = try await Self.versions(sandbox)
            for desktop in atKill where !desktop.state.isTransitional {
                #expect(metadata[desktop.name] == desktop.version, "\(desktop.name): record v\(desktop.version), libvirt \(metadata[desktop.name].map(String.init) ?? "none")")
            }

            try broker.startServe()
            try await BrokerCrashTests().wait("the rollout to complete", .seconds(1200), broker) {
                try await store.rollout(id: id)?.state == .completed
            }
            let items = try await store.rolloutItems(rollout: id)
            #expect(items.allSatisfy { $0.status == .done }, "\(items.map { "\($0.desktop)=\($0.status)" })")
            for item in itemsAtKill where item.status == .done {
                let audit = try await store.auditLog(subject: "rollout/\(id)/\(item.desktop)", limit: 20)
                #expect(audit.filter { $0.detail.contains("-> inProgress") }.count == 1, "a desktop done before the kill is not updated twice")
            }
            let desktops = try await store.desktops(pool: "roll")
            #expect(desktops.count == 4 && desktops.allSatisfy { $0.version == 2 && $0.state == .ready })
            let after = try await Self.versions(sandbox)
            #expect(after.count == 4 && after.values.allSatisfy { $0 == 2 }, "libvirt metadata: \(after)")
            try await BrokerCrashTests().wait("no leaks", .seconds(120), broker) {
                try await BrokerCrashTests.leaks(sandbox, records: try await store.desktops(pool: "roll")).isEmpty
            }
            let status = await broker.terminate(within: 60)
            #expect(status == 0, "deskpool serve should stop gracefully: \(broker.logText().suffix(2000))")
        }
    }

    @Test("kill -9 while a guest command runs: after the restart its item is interrupted, the command never runs again there, the rollout completes")
    func killNineMidGuestCommand() async throws {
        try await LibvirtSandbox.run(uri: "qemu:///system") { sandbox in
            let pool = try await sandbox.makeDirPool()
            let broker = try BrokerProcess(sandbox: sandbox, storagePool: sandbox.name("pool"))
            defer { broker.removeState() }
            try broker.prepare(pool: """
                name: cmd
                template: tiny-linux
                assignment: floating
                min: 2
                spare: 2
                max: 2
                naming: "\(sandbox.prefix)c{n:02}"
                users: [alice]
                """)
            // Each run leaves a line in the guest, then takes a while: the kill lands mid-way.
            let policyFile = broker.state + "/command.yaml"
            try """
                apiVersion: deskpool/v1
                kind: GuestCommandPolicy
                metadata:
                  name: once
                spec:
                  selector:
                    pools: [cmd]
                  script: |
                    echo ran >> /tmp/deskpool-ran
                    sleep 20
                  concurrency: 1
                  timeout: 2m
                """.write(toFile: policyFile, atomically: true, encoding: .utf8)

            try broker.startServe()
            let store = try broker.store()
            try await BrokerCrashTests().wait("2 ready desktops", .seconds(900), broker) {
                try await store.desktops(pool: "cmd").filter { $0.state == .ready }.count == 2
            }
            let applied = try broker.run(["local", "policy", "apply", policyFile])
            let id = try #require(applied.split(separator: " ").dropFirst().first.map { String($0.dropLast()) }, "rollout id in: \(applied)")
            try await BrokerCrashTests().wait("a command running", .seconds(300), broker) {
                try await store.rolloutItems(rollout: id).contains { $0.status == .inProgress }
            }
            let running = try #require(try await store.rolloutItems(rollout: id).first { $0.status == .inProgress })
            try await Task.sleep(for: .seconds(3))  // the command has started in the guest
            broker.kill9()

            try broker.startServe()
            try await BrokerCrashTests().wait("the rollout to complete", .seconds(600), broker) {
                try await store.rollout(id: id)?.state == .completed
            }
            let items = try await store.rolloutItems(rollout: id)
            let interrupted = try #require(items.first { $0.desktopID == running.desktopID })
            #expect(interrupted.status == .interrupted, "\(interrupted.status): \(interrupted.detail ?? "")")
            #expect(items.filter { $0.desktopID != running.desktopID }.allSatisfy { $0.status == .done }, "\(items.map { "\($0.desktop)=\($0.status)" })")
            // In the guest: the interrupted desktop ran it once (before the kill), never again.
            let hypervisor = LibvirtHypervisor(host: "local", connection: sandbox.connection, storagePool: pool.name, domainType: "qemu")
            let marker = try await hypervisor.runGuestCommand(GuestCommand(path: "/bin/cat", arguments: ["/tmp/deskpool-ran"]),
                                                              timeout: .seconds(30), onDesktop: interrupted.desktop)
            #expect(marker.stdout == "ran\n", "the command ran once on \(interrupted.desktop): \(marker.stdout.debugDescription)")
            let status = await broker.terminate(within: 60)
            #expect(status == 0, "deskpool serve should stop gracefully: \(broker.logText().suffix(2000))")
        }
    }

    @Test("kill -9 while a ConfigPolicy restarts desktops: after the restart every desktop has the new definition and generation, each changed once")
    func killNineMidConfig() async throws {
        try await LibvirtSandbox.run(uri: "qemu:///system") { sandbox in
            let pool = try await sandbox.makeDirPool()
            let broker = try BrokerProcess(sandbox: sandbox, storagePool: sandbox.name("pool"))
            defer { broker.removeState() }
            try broker.prepare(pool: """
                name: cfg
                template: tiny-linux
                assignment: floating
                min: 3
                spare: 3
                max: 3
                naming: "\(sandbox.prefix)g{n:02}"
                users: [alice]
                """)
            let policyFile = broker.state + "/config.yaml"
            try """
                apiVersion: deskpool/v1
                kind: ConfigPolicy
                metadata:
                  name: more
                spec:
                  selector:
                    pools: [cfg]
                  set:
                    desktop:
                      memoryMiB: 192
                      vcpus: 2
                """.write(toFile: policyFile, atomically: true, encoding: .utf8)

            try broker.startServe()
            let store = try broker.store()
            try await BrokerCrashTests().wait("3 ready desktops", .seconds(900), broker) {
                try await store.desktops(pool: "cfg").filter { $0.state == .ready }.count == 3
            }
            let applied = try broker.run(["local", "policy", "apply", policyFile])
            let id = try #require(applied.split(separator: " ").dropFirst().first.map { String($0.dropLast()) }, "rollout id in: \(applied)")
            // Kill while a desktop restarts to take its new definition.
            try await BrokerCrashTests().wait("a desktop under way", .seconds(600), broker) {
                try await store.rolloutItems(rollout: id).contains { $0.status == .inProgress }
            }
            broker.kill9()
            let itemsAtKill = try await store.rolloutItems(rollout: id)

            try broker.startServe()
            try await BrokerCrashTests().wait("the rollout to complete", .seconds(900), broker) {
                try await store.rollout(id: id)?.state == .completed
            }
            try await BrokerCrashTests().wait("3 ready desktops again", .seconds(600), broker) {
                try await store.desktops(pool: "cfg").filter { $0.state == .ready }.count == 3
            }
            let items = try await store.rolloutItems(rollout: id)
            #expect(items.allSatisfy { $0.status == .done }, "\(items.map { "\($0.desktop)=\($0.status)" })")
            for item in itemsAtKill where item.status == .done {
                let audit = try await store.auditLog(subject: "rollout/\(id)/\(item.desktop)", limit: 20)
                #expect(audit.filter { $0.detail.contains("-> inProgress") }.count == 1, "a desktop done before the kill is not changed twice")
            }
            let generation = try #require(try await store.pool(named: "cfg")?.generation)
            let hypervisor = LibvirtHypervisor(host: "local", connection: sandbox.connection, storagePool: pool.name, domainType: "qemu")
            for desktop in try await store.desktops(pool: "cfg") {
                #expect(desktop.generation == generation, "\(desktop.name)'s record")
                let facts = try await hypervisor.facts(ofDesktop: desktop.name)
                #expect(facts.persistent.memoryMiB == 192 && facts.persistent.vcpus == 2, "\(desktop.name)'s definition")
                #expect(facts.live?.vcpus == 2, "\(desktop.name) runs its new definition")
                #expect(facts.identity?.generation == generation, "\(desktop.name)'s metadata")
            }
            let status = await broker.terminate(within: 60)
            #expect(status == 0, "deskpool serve should stop gracefully: \(broker.logText().suffix(2000))")
        }
    }

    @Test("kill -9 during an automatic rollback (a v2 that does not boot): after the restart the rollback completes, every desktop on v1, the canary rolled back once")
    func killNineMidRollback() async throws {
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-broken-\(UUID().uuidString).qcow2").path
        _ = try Command.output("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", broken, "64M"])
        defer { try? FileManager.default.removeItem(atPath: broken) }
        try await LibvirtSandbox.run(uri: "qemu:///system") { sandbox in
            _ = try await sandbox.makeDirPool()
            let broker = try BrokerProcess(sandbox: sandbox, storagePool: sandbox.name("pool"))
            defer { broker.removeState() }
            try broker.prepare(pool: """
                name: back
                template: tiny-linux
                version: 1
                assignment: floating
                min: 2
                spare: 2
                max: 2
                naming: "\(sandbox.prefix)b{n:02}"
                users: [alice]
                """)
            try broker.run(["local", "template", "publish", "tiny-linux", "--file", broken, "--note", "v2 does not boot"])
            let policyFile = broker.state + "/update.yaml"
            try """
                apiVersion: deskpool/v1
                kind: UpdatePolicy
                metadata:
                  name: back-v2
                spec:
                  selector:
                    pools: [back]
                  version: 2
                  strategy:
                    canary: 1
                    waveSize: 1
                    maxUnavailable: 1
                    healthGate:
                      timeout: 45s
                """.write(toFile: policyFile, atomically: true, encoding: .utf8)

            try broker.startServe()
            let store = try broker.store()
            try await BrokerCrashTests().wait("2 ready desktops", .seconds(900), broker) {
                try await store.desktops(pool: "back").filter { $0.state == .ready }.count == 2
            }
            let applied = try broker.run(["local", "policy", "apply", policyFile])
            let id = try #require(applied.split(separator: " ").dropFirst().first.map { String($0.dropLast()) }, "rollout id in: \(applied)")
            // The canary fails its gate; kill while it is being taken back to v1.
            try await BrokerCrashTests().wait("the automatic rollback under way", .seconds(900), broker) {
                try await store.rolloutItems(rollout: id).contains { $0.status == .rollingBack }
            }
            broker.kill9()
            #expect(try await store.rollout(id: id)?.state == .rollingBack)

            try broker.startServe()
            try await BrokerCrashTests().wait("the rollback to complete", .seconds(900), broker) {
                try await store.rollout(id: id)?.state == .rolledBack
            }
            try await BrokerCrashTests().wait("both desktops on v1 and ready", .seconds(900), broker) {
                try await store.desktops(pool: "back").allSatisfy { $0.version == 1 && $0.state == .ready }
            }
            let items = try await store.rolloutItems(rollout: id)
            let canary = try #require(items.first { $0.wave == 0 })
            #expect(canary.status == .rolledBack)
            let audit = try await store.auditLog(subject: "rollout/\(id)/\(canary.desktop)", limit: 30)
            #expect(audit.filter { $0.detail.contains("-> rolledBack") }.count == 1, "rolled back once: \(audit.map(\.detail))")
            #expect(items.filter { $0.wave > 0 }.allSatisfy { $0.status == .skipped }, "\(items.map { "\($0.desktop)=\($0.status)" })")
            let libvirt = try await Self.versions(sandbox)
            #expect(libvirt.count == 2 && libvirt.values.allSatisfy { $0 == 1 }, "libvirt metadata: \(libvirt)")
            let status = await broker.terminate(within: 60)
            #expect(status == 0, "deskpool serve should stop gracefully: \(broker.logText().suffix(2000))")
        }
    }

    /// The version in each sandbox domain's Deskpool metadata.
    static func versions(_ sandbox: LibvirtSandbox) async throws -> [String: Int] {
        var versions: [String: Int] = [:]
        for listing in try await sandbox.connection.listDomains() where listing.domain.name.hasPrefix(sandbox.prefix) {
            let xml = try await listing.domain.xml()
            versions[listing.domain.name] = DesktopDomainXML.identity(fromDomainXML: xml)?.version
        }
        return versions
    }
}
