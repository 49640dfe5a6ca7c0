import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Testing

/// Flow 5 on real parts: `deskpool serve` is killed with SIGKILL while it provisions ten
/// desktops on qemu:///system, and restarted. The pool must converge with no orphan domain or
/// volume, no record without a domain, and every assignment kept.
@Suite(
    "Broker process: kill -9 while provisioning or under connected viewers, restart, converge", .serialized,
    .enabled(if: TestTier.tinyGuest.isEnabled, Comment(rawValue: TestTier.tinyGuest.skipReason)))
struct BrokerCrashTests {
    @Test("kill -9 mid-provisioning of 10 desktops: converges, nothing leaked, assignments kept")
    func killNine() async throws {
        try await LibvirtSandbox.run(uri: "qemu:///system") { sandbox in
            _ = try await sandbox.makeDirPool()
            let broker = try BrokerProcess(sandbox: sandbox, storagePool: sandbox.name("pool"))
            defer { broker.removeState() }
            try broker.prepare(pool: """
                name: crash
                template: tiny-linux
                assignment: floating
                spare: 10
                max: 12
                naming: "\(sandbox.prefix)c{n:02}"
                users: [alice, bob]
                """)

            try broker.startServe()
            let store = try broker.store()
            // Alice gets a desktop as soon as one is ready; bob asks while none may be ready.
            try await wait("a first ready desktop", .seconds(600), broker) { try await store.desktops(pool: "crash").contains { $0.state == .ready } }
            let alice = try broker.run(["local", "request", "--user", "alice", "--pool", "crash"])
            let bob = try broker.run(["local", "request", "--user", "bob", "--pool", "crash"])
            #expect(alice.hasPrefix("assigned "))
            // Kill while desktops are still being made.
            let before = try await store.desktops(pool: "crash")
            #expect(before.contains { $0.state.isTransitional }, "the kill must land mid-provisioning: \(before.map { "\($0.name)=\($0.state)" })")
            broker.kill9()
            let held = try await store.desktops(pool: "crash").filter { $0.user != nil }
            #expect(Set(held.compactMap(\.user)) == ["alice", "bob"], "bob: \(bob)")

            try broker.startServe()
            try await wait("the pool to converge", .seconds(900), broker) {
                let desktops = try await store.desktops(pool: "crash")
                let spares = desktops.filter { $0.state == .ready && $0.user == nil }.count
                return spares == 10 && desktops.allSatisfy { $0.state == .ready || $0.state == .assigned }
            }
            let after = try await store.desktops(pool: "crash")
            // Every assignment kept: alice's desktop is the same one, bob has his.
            for desktop in held where desktop.state.isInSession {
                #expect(after.first { $0.id == desktop.id }?.user == desktop.user)
            }
            #expect(Set(after.compactMap(\.user)) == ["alice", "bob"])
            #expect(after.filter { $0.user == "bob" }.count == 1)

            // No orphans, once the grace period has passed: every Deskpool domain and clone
            // volume in the sandbox belongs to a record, and every record has its domain.
            try await Task.sleep(for: .seconds(5))
            try await wait("orphans to be removed", .seconds(120), broker) {
                try await Self.leaks(sandbox, records: try await store.desktops(pool: "crash")).isEmpty
            }
            let status = await broker.terminate(within: 60)
            #expect(status == 0, "deskpool serve should stop gracefully on SIGTERM: \(broker.logText().suffix(2000))")
        }
    }

    @Test("kill -9 under two connected remote-viewers: after the restart the session whose gateway tunnel died is disconnected and logged off after its disconnect timeout; the direct client's session stays connected",
          .enabled(if: TestTier.viewer.isEnabled, Comment(rawValue: TestTier.viewer.skipReason)))
    func killNineUnderViewers() async throws {
        try await LibvirtSandbox.run(uri: "qemu:///system") { sandbox in
            _ = try await sandbox.makeDirPool()
            let broker = try BrokerProcess(sandbox: sandbox, storagePool: sandbox.name("pool"))
            defer { broker.removeState() }
            try broker.prepare(pool: """
                name: gw
                template: tiny-linux
                assignment: floating
                min: 1
                spare: 1
                max: 1
                naming: "\(sandbox.prefix)gw{n}"
                users: [alice]
                session:
                  disconnectTimeoutSeconds: 10
                """)
            let direct = broker.state + "/direct.yaml"
            try """
                name: direct
                template: tiny-linux
                assignment: floating
                min: 1
                spare: 1
                max: 1
                naming: "\(sandbox.prefix)dc{n}"
                users: [bob]
                console:
                  gateway: false
                session:
                  disconnectTimeoutSeconds: 10
                """.write(toFile: direct, atomically: true, encoding: .utf8)
            try broker.run(["local", "pool", "apply", direct])
            try broker.startServe()
            let store = try broker.store()
            try await wait("both desktops ready", .seconds(900), broker) {
                try await store.desktops(pool: nil).filter { $0.state == .ready }.count == 2
            }
            let display = try VirtualDisplay()
            defer { display.stop() }
            var viewers: [RemoteViewer] = []
            defer { viewers.forEach { $0.stop() } }
            var held: [String: Desktop] = [:]
            for (user, pool) in [("alice", "gw"), ("bob", "direct")] {
                let answer = try broker.run(["local", "request", "--user", user, "--pool", pool])
                let id = try #require(answer.split(separator: " ").dropFirst(2).first.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }, "\(answer)")
                let vv = broker.state + "/\(user).vv"
                try broker.run(["local", "console", id, "--user", user, "--output", vv])
                #expect(try String(contentsOfFile: vv, encoding: .utf8).contains("proxy=") == (pool == "gw"), "\(pool): through the gateway or not")
                viewers.append(try RemoteViewer(file: vv, display: display))
                try await wait("\(user)'s session connected", .seconds(120), broker) {
                    try await store.desktop(id: id)?.state == .connected
                }
                held[user] = try await store.desktop(id: id)
            }
            let alice = try #require(held["alice"]), bob = try #require(held["bob"])

            // The broker dies: its gateway's tunnels with it. The store still says connected.
            broker.kill9()
            #expect(try await store.desktop(id: alice.id)?.state == .connected)
            try await Task.sleep(for: .seconds(3))
            try broker.startServe()
            let restarted = ContinuousClock.now
            try await wait("alice's session found disconnected", .seconds(60), broker) {
                try await store.desktop(id: alice.id)?.state == .disconnected
            }
            print("[restart] the stale session was disconnected \(ContinuousClock.now - restarted) after the restart")
            // Her disconnect timeout runs: logged off, the desktop refreshed for the next user.
            try await wait("alice logged off after her disconnect timeout", .seconds(120), broker) {
                try await store.desktop(id: alice.id).map { $0.user == nil } ?? true
            }
            // Bob's viewer talks to qemu directly: qemu still lists it, his session stays.
            #expect(viewers[1].isRunning, "bob's remote-viewer still runs")
            let bobNow = try await store.desktop(id: bob.id)
            #expect(bobNow?.state == .connected && bobNow?.user == "bob", "bob's direct session stays connected: \(String(describing: bobNow?.state))")
            let audit = try await store.auditLog(subject: "desktop/\(alice.name)", limit: 30).map(\.detail)
            #expect(audit.contains { $0.contains("connected -> disconnected") }, "\(audit)")
            let status = await broker.terminate(within: 60)
            #expect(status == 0, "deskpool serve should stop gracefully: \(broker.logText().suffix(2000))")
        }
    }

    /// What does not match between the records and libvirt (empty when consistent).
    static func leaks(_ sandbox: LibvirtSandbox, records: [Desktop]) async throws -> [String] {
        let domains = try await sandbox.connection.listDomains().map(\.domain.name).filter { $0.hasPrefix(sandbox.prefix) }
        let pool = try await sandbox.connection.storagePool(named: sandbox.name("pool"))
        try await pool.refresh()
        let volumes = try await pool.volumes().map(\.name).filter { !$0.hasPrefix("dp-base-") }
        var leaks: [String] = []
        leaks += domains.filter { name in !records.contains { $0.name == name } }.map { "orphan domain \($0)" }
        leaks += records.filter { !domains.contains($0.name) }.map { "record without domain \($0.name)" }
        leaks += volumes.filter { volume in !records.contains { $0.volumeName == volume } }.map { "orphan volume \($0)" }
        return leaks
    }

    func wait(_ what: String, _ timeout: Duration, _ broker: BrokerProcess, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what); serve log tail:\n\(broker.logText().suffix(3000))")
                throw TimeoutError(what: what, duration: timeout)
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }
}
