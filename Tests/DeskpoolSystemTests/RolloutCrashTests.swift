import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Testing

/// `deskpool serve` is killed with SIGKILL ten times at random moments of each rollout kind on
/// real guests, and started again after each kill: every desktop ends on exactly one version
/// and generation, its record says which, no item is applied twice, and a guest command cut
/// by a kill is `interrupted`, never run again. When a rollout ends before ten kills landed,
/// another of the same kind is applied and the kills go on.
@Suite(
    "Broker process: ten kill -9 at random moments of each rollout kind, restart, the rollouts continue", .serialized,
    .enabled(if: TestTier.tinyGuest.isEnabled, Comment(rawValue: TestTier.tinyGuest.skipReason)))
struct RolloutCrashTests {
    static let kills = 10

    /// A rollout's phase for the kills: interruptible while it runs and has unsettled items.
    static func running(_ store: SQLiteStore, _ id: String) async throws -> RandomKills.Phase {
        guard let rollout = try await store.rollout(id: id) else { return .notYet }
        if rollout.state.isFinal { return .over }
        guard rollout.state == .running else { return .notYet }
        return try await store.rolloutItems(rollout: id).contains { !$0.status.isSettled } ? .interruptible : .notYet
    }

    /// How many times the audit log says the item went to `status`.
    static func entries(_ store: SQLiteStore, _ rollout: String, _ item: RolloutItem, to status: RolloutItem.Status) async throws -> Int {
        try await store.auditLog(subject: "rollout/\(rollout)/\(item.desktop)", limit: 100).filter { $0.detail.contains("-> \(status.rawValue)") }.count
    }

    static func ready(_ store: SQLiteStore, _ pool: String, _ count: Int, _ broker: BrokerProcess) async throws {
        try await BrokerCrashTests().wait("\(count) ready desktops in \(pool)", .seconds(900), broker) {
            let desktops = try await store.desktops(pool: pool)
            return desktops.count == count && desktops.allSatisfy { $0.state == .ready }
        }
    }

    /// `deskpool serve` in a sandbox with one floating pool of `size` tiny desktops for alice
    /// (`versions` of the image published; `before` runs before the start), its desktops ready;
    /// after `body`, the broker must stop gracefully on SIGTERM.
    static func withPool(_ name: String, size: Int, versions: Int = 1, before: (BrokerProcess) throws -> Void = { _ in },
                         _ body: (LibvirtSandbox, StoragePool, BrokerProcess, SQLiteStore) async throws -> Void) async throws {
        try await LibvirtSandbox.run(uri: "qemu:///system") { sandbox in
            let pool = try await sandbox.makeDirPool()
            let broker = try BrokerProcess(sandbox: sandbox, storagePool: sandbox.name("pool"))
            defer { broker.removeState() }
            try broker.prepare(versions: versions, pool: """
                name: \(name)
                template: tiny-linux
                version: 1
                assignment: floating
                min: \(size)
                spare: \(size)
                max: \(size)
                naming: "\(sandbox.prefix)\(name.prefix(1)){n:02}"
                users: [alice]
                """)
            try before(broker)
            try broker.startServe()
            let store = try broker.store()
            try await ready(store, name, size, broker)
            try await body(sandbox, pool, broker, store)
            let status = await broker.terminate(within: 60)
            #expect(status == 0, "deskpool serve should stop gracefully: \(broker.logText().suffix(2000))")
        }
    }

    /// An UpdatePolicy of one pool to `version`: a canary, then one desktop at a time.
    static func updatePolicy(_ name: String, pool: String, version: Int, gate: String) -> String {
        """
        apiVersion: deskpool/v1
        kind: UpdatePolicy
        metadata:
          name: \(name)
        spec:
          selector:
            pools: [\(pool)]
          version: \(version)
          strategy:
            canary: 1
            waveSize: 1
            maxUnavailable: 1
            healthGate:
              timeout: \(gate)
        """
    }

    @Test("image update waves: ten kills; every rollout completes, each desktop updated once per rollout, all on the last version in records and libvirt, nothing leaked")
    func killsDuringUpdates() async throws {
        let versions = 5
        try await Self.withPool("roll", size: 3, versions: versions) { sandbox, _, broker, store in
            var rollouts: [String] = []
            func next() throws {
                let version = rollouts.count + 2
                guard version <= versions else {
                    Issue.record("no version left for another rollout")
                    return
                }
                rollouts.append(try broker.apply(policy: Self.updatePolicy("roll-v\(version)", pool: "roll", version: version, gate: "15m"),
                                                 file: "update-\(version).yaml"))
            }
            try next()
            var kills = RandomKills()
            let seed = kills.seed
            try await kills.kill(broker, times: Self.kills, "update waves",
                                 phase: { try await Self.running(store, rollouts.last!) }, next: { try next() },
                                 atKill: {
                // Never half-way: a desktop not under way runs the clone of the version its record says.
                let metadata = try await Self.versions(sandbox)
                for desktop in try await store.desktops(pool: "roll") where !desktop.state.isTransitional {
                    #expect(metadata[desktop.name] == desktop.version,
                            "\(desktop.name): record v\(desktop.version), libvirt \(metadata[desktop.name].map(String.init) ?? "none") (seed \(seed))")
                }
            })
            try await BrokerCrashTests().wait("the last rollout to complete", .seconds(1200), broker) {
                try await store.rollout(id: rollouts.last!)?.state == .completed
            }
            for id in rollouts {
                #expect(try await store.rollout(id: id)?.state == .completed)
                for item in try await store.rolloutItems(rollout: id) {
                    #expect(item.status == .done, "\(id) \(item.desktop): \(item.status) \(item.detail ?? "")")
                    #expect(try await Self.entries(store, id, item, to: .inProgress) == 1, "\(item.desktop) updated once by \(id) (seed \(kills.seed))")
                }
            }
            let last = rollouts.count + 1
            try await Self.ready(store, "roll", 3, broker)
            #expect(try await store.desktops(pool: "roll").allSatisfy { $0.version == last })
            let after = try await Self.versions(sandbox)
            #expect(after.count == 3 && after.values.allSatisfy { $0 == last }, "libvirt metadata: \(after), expected v\(last)")
            try await BrokerCrashTests().wait("no leaks", .seconds(120), broker) {
                try await BrokerCrashTests.leaks(sandbox, records: try await store.desktops(pool: "roll")).isEmpty
            }
        }
    }

    @Test("automatic rollbacks (a version that does not boot): ten kills while rolling back; every rollout rolls back, each canary once, every desktop on v1")
    func killsDuringRollbacks() async throws {
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-broken-\(UUID().uuidString).qcow2").path
        _ = try Command.output("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", broken, "64M"])
        defer { try? FileManager.default.removeItem(atPath: broken) }
        let brokenVersions = 6
        try await Self.withPool("back", size: 2, before: { broker in
            for n in 2...(brokenVersions + 1) {
                try broker.run(["local", "template", "publish", "tiny-linux", "--file", broken, "--note", "v\(n) does not boot"])
            }
        }) { sandbox, _, broker, store in
            var rollouts: [String] = []
            func next() throws {
                let version = rollouts.count + 2
                guard version <= brokenVersions + 1 else {
                    Issue.record("no broken version left for another rollout")
                    return
                }
                rollouts.append(try broker.apply(policy: Self.updatePolicy("back-v\(version)", pool: "back", version: version, gate: "10s"),
                                                 file: "update-\(version).yaml"))
            }
            try next()
            var kills = RandomKills()
            try await kills.kill(broker, times: Self.kills, "automatic rollbacks",
                                 phase: {
                                     guard let rollout = try await store.rollout(id: rollouts.last!) else { return .notYet }
                                     return rollout.state.isFinal ? .over : rollout.state == .rollingBack ? .interruptible : .notYet
                                 },
                                 next: { try next() })
            try await BrokerCrashTests().wait("the last rollback to complete", .seconds(900), broker) {
                try await store.rollout(id: rollouts.last!)?.state == .rolledBack
            }
            for id in rollouts {
                #expect(try await store.rollout(id: id)?.state == .rolledBack)
                let items = try await store.rolloutItems(rollout: id)
                let canary = try #require(items.first { $0.wave == 0 })
                #expect(canary.status == .rolledBack, "\(id): canary \(canary.status)")
                #expect(try await Self.entries(store, id, canary, to: .rolledBack) == 1, "\(id): the canary rolled back once (seed \(kills.seed))")
                #expect(items.filter { $0.wave > 0 }.allSatisfy { $0.status == .skipped }, "\(items.map { "\($0.desktop)=\($0.status)" })")
            }
            try await Self.ready(store, "back", 2, broker)
            #expect(try await store.desktops(pool: "back").allSatisfy { $0.version == 1 })
            let libvirt = try await Self.versions(sandbox)
            #expect(libvirt.count == 2 && libvirt.values.allSatisfy { $0 == 1 }, "libvirt metadata: \(libvirt)")
            try await BrokerCrashTests().wait("no leaks", .seconds(120), broker) {
                try await BrokerCrashTests.leaks(sandbox, records: try await store.desktops(pool: "back")).isEmpty
            }
        }
    }

    @Test("ConfigPolicies restarting desktops: ten kills; every rollout completes, each desktop changed once per rollout, all on the last definition and generation")
    func killsDuringConfig() async throws {
        try await Self.withPool("cfg", size: 3) { sandbox, pool, broker, store in
            // Each rollout changes the memory and the vCPUs: the vCPUs need a restart.
            let memory = [192, 160, 224, 176, 208, 144, 240, 200]
            var rollouts: [String] = []
            func next() throws {
                let n = rollouts.count
                rollouts.append(try broker.apply(policy: """
                    apiVersion: deskpool/v1
                    kind: ConfigPolicy
                    metadata:
                      name: cfg-\(n)
                    spec:
                      selector:
                        pools: [cfg]
                      set:
                        desktop:
                          memoryMiB: \(memory[n % memory.count])
                          vcpus: \(n % 2 == 0 ? 2 : 1)
                    """, file: "config-\(n).yaml"))
            }
            try next()
            var kills = RandomKills()
            try await kills.kill(broker, times: Self.kills, "configuration changes",
                                 phase: { try await Self.running(store, rollouts.last!) }, next: { try next() })
            try await BrokerCrashTests().wait("the last rollout to complete", .seconds(900), broker) {
                try await store.rollout(id: rollouts.last!)?.state == .completed
            }
            for id in rollouts {
                #expect(try await store.rollout(id: id)?.state == .completed)
                for item in try await store.rolloutItems(rollout: id) {
                    #expect(item.status == .done || item.status == .skipped, "\(id) \(item.desktop): \(item.status) \(item.detail ?? "")")
                    if item.status == .done {
                        #expect(try await Self.entries(store, id, item, to: .inProgress) == 1, "\(item.desktop) changed once by \(id) (seed \(kills.seed))")
                    }
                }
            }
            try await Self.ready(store, "cfg", 3, broker)
            let n = rollouts.count - 1
            let generation = try #require(try await store.pool(named: "cfg")?.generation)
            let hypervisor = LibvirtHypervisor(host: "local", connection: sandbox.connection, storagePool: pool.name, domainType: "qemu")
            for desktop in try await store.desktops(pool: "cfg") {
                #expect(desktop.generation == generation, "\(desktop.name)'s record")
                let facts = try await hypervisor.facts(ofDesktop: desktop.name)
                #expect(facts.persistent.memoryMiB == memory[n % memory.count] && facts.persistent.vcpus == (n % 2 == 0 ? 2 : 1),
                        "\(desktop.name)'s definition: \(facts.persistent.memoryMiB) MiB, \(facts.persistent.vcpus) vCPUs")
                #expect(facts.live?.vcpus == (n % 2 == 0 ? 2 : 1), "\(desktop.name) runs its last definition")
                #expect(facts.identity?.generation == generation, "\(desktop.name)'s metadata")
            }
        }
    }

    @Test("GuestCommandPolicies: ten kills; a command cut by a kill is interrupted and never run again, every other ran exactly once")
    func killsDuringGuestCommands() async throws {
        try await Self.withPool("cmd", size: 2) { sandbox, pool, broker, store in
            // Each run leaves a line in the guest, then takes a while: kills land mid-way.
            var rollouts: [String] = []
            func next() throws {
                let n = rollouts.count
                rollouts.append(try broker.apply(policy: """
                    apiVersion: deskpool/v1
                    kind: GuestCommandPolicy
                    metadata:
                      name: once-\(n)
                    spec:
                      selector:
                        pools: [cmd]
                      script: |
                        echo ran >> /tmp/deskpool-ran-\(n)
                        sleep 4
                      concurrency: 1
                      timeout: 2m
                    """, file: "command-\(n).yaml"))
            }
            try next()
            var kills = RandomKills()
            try await kills.kill(broker, times: Self.kills, "guest commands",
                                 phase: { try await Self.running(store, rollouts.last!) }, next: { try next() })
            try await BrokerCrashTests().wait("the last rollout to complete", .seconds(600), broker) {
                try await store.rollout(id: rollouts.last!)?.state == .completed
            }
            let hypervisor = LibvirtHypervisor(host: "local", connection: sandbox.connection, storagePool: pool.name, domainType: "qemu")
            var interrupted = 0
            for (n, id) in rollouts.enumerated() {
                #expect(try await store.rollout(id: id)?.state == .completed)
                for item in try await store.rolloutItems(rollout: id) {
                    let marker = try await hypervisor.runGuestCommand(GuestCommand(path: "/bin/sh", arguments: ["-c", "cat /tmp/deskpool-ran-\(n) 2>/dev/null; true"]),
                                                                      timeout: .seconds(30), onDesktop: item.desktop)
                    let runs = marker.stdout.split(separator: "\n").count
                    switch item.status {
                    case .done: #expect(runs == 1, "\(item.desktop) ran once-\(n) \(runs) times (seed \(kills.seed))")
                    case .interrupted:
                        interrupted += 1
                        #expect(runs <= 1, "\(item.desktop) ran the interrupted once-\(n) \(runs) times (seed \(kills.seed))")
                    default: Issue.record("\(id) \(item.desktop): \(item.status) \(item.detail ?? "")")
                    }
                }
            }
            print("[kills] guest commands: \(rollouts.count) rollouts, \(interrupted) commands interrupted")
        }
    }

    @Test("CheckPolicies with a slow in-guest check and a refresh remediation: ten kills; every rollout completes, each failed desktop refreshed at most once per rollout, as its item records")
    func killsDuringChecks() async throws {
        try await Self.withPool("chk", size: 3) { sandbox, _, broker, store in
            // The check takes a few seconds in each guest and fails: every desktop is refreshed.
            var rollouts: [String] = []
            func next() async throws {
                try await Self.ready(store, "chk", 3, broker)
                let n = rollouts.count
                rollouts.append(try broker.apply(policy: """
                    apiVersion: deskpool/v1
                    kind: CheckPolicy
                    metadata:
                      name: chk-\(n)
                    spec:
                      selector:
                        pools: [chk]
                      checks:
                        - name: slow
                          guestCommand: {path: /bin/sh, args: ["-c", "sleep 3; exit 3"], expectExit: 0}
                      remediation: refresh
                    """, file: "check-\(n).yaml"))
            }
            try await next()
            var kills = RandomKills()
            try await kills.kill(broker, times: Self.kills, "checks",
                                 phase: { try await Self.running(store, rollouts.last!) }, next: { try await next() })
            try await BrokerCrashTests().wait("the last rollout to complete", .seconds(600), broker) {
                try await store.rollout(id: rollouts.last!)?.state == .completed
            }
            var refreshed = 0
            for id in rollouts {
                let rollout = try #require(try await store.rollout(id: id))
                #expect(rollout.state == .completed && rollout.reason?.hasPrefix("remediation: refreshing") == true, "\(id): \(rollout.state) \(rollout.reason ?? "")")
                for item in try await store.rolloutItems(rollout: id) {
                    #expect(item.status == .failed, "\(id) \(item.desktop): \(item.status) \(item.detail ?? "")")
                    let refreshes = try await store.auditLog(AuditQuery(subject: "desktop/\(item.desktop)", actor: PolicyRollouts.actor(id), action: "desktop.state"))
                    #expect(refreshes.count == (item.remediation == .refreshing ? 1 : 0),
                            "\(item.desktop): \(refreshes.count) refreshes by \(id), item says \(item.remediation.map(\.rawValue) ?? "none") (seed \(kills.seed))")
                    if item.remediation == .refreshing { refreshed += 1 }
                }
            }
            #expect(refreshed > 0, "the remediation refreshed desktops")
            print("[kills] checks: \(rollouts.count) rollouts, \(refreshed) refreshes")
            try await Self.ready(store, "chk", 3, broker)
            try await BrokerCrashTests().wait("no leaks", .seconds(120), broker) {
                try await BrokerCrashTests.leaks(sandbox, records: try await store.desktops(pool: "chk")).isEmpty
            }
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
