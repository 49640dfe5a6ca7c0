import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Testing

/// Saved spares on the fake hypervisor and a real SQLite store: the pool keeps its tiers, a
/// request gets a saved spare resumed (no new clone, no boot), and the tiers fill again. The
/// same runs on qemu:///system in `SavedSparesQemuTests`.
@Suite("Saved spares on a fake hypervisor")
struct SavedSparesTests {
    static func pool(running: Int, saved: Int, max: Int = 10) -> PoolSpec {
        var pool = BrokerTests.pool(max: max, spare: running)
        pool.savedSpare = saved
        return pool
    }

    @Test("spare {running: 1, saved: 2}: one ready and two saved (stopped, memory on disk); a claim resumes a saved one and the tiers fill again")
    func tiers() async throws {
        let fake = FakeHypervisor(host: "a", bootProbes: 2)
        // A pass every second: the tiers settle over several passes, and one the events did not
        // start waits for the sweep (10 s by default, as long as the wait below was: CI's
        // loaded first pass timed out there once).
        var configuration = BrokerConfiguration()
        configuration.backoffBaseSeconds = 60
        configuration.sweepIntervalSeconds = 1
        let (h, _) = try await BrokerTests.harness(hosts: [fake], broker: configuration)
        try await h.admin.applyPool(Self.pool(running: 1, saved: 2), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "1 ready, 2 saved", timeout: .seconds(10)) {
                let ready = try await h.desktops("eng", in: [.ready]).count
                let saved = try await h.desktops("eng", in: [.saved]).count
                return ready == 1 && saved == 2
            }
        }
        let saved = try await h.desktops("eng", in: [.saved])
        for desktop in saved {
            #expect(fake.isSaved(desktop.name) && !fake.isRunning(desktop.name), "\(desktop.name) is saved, not running")
        }
        let capacity = PoolCapacity(try await h.store.desktops(pool: "eng"))
        #expect(capacity.ready == 1 && capacity.saved == 2)

        // Alice takes the running spare; the pool resumes a saved one at once and makes a new
        // one, which it saves once it has booted.
        guard case .assigned(let alices) = try await h.broker.request(.init(user: "alice"), pool: "eng") else {
            Issue.record("alice expected the ready spare")
            return
        }
        // Settled: 1 ready (a resumed saved one), 2 saved, 1 assigned. On a loaded machine the
        // new desktop can be ready while the resume has not begun yet (1 ready, 2 saved for a
        // moment, the ready one the new desktop): the wait is for the settled state, which a
        // pool that made a new running spare instead of resuming a saved one never reaches.
        let savedIDs = Set(saved.map(\.id))
        try await h.running {
            try await h.wait(for: "1 ready (a resumed saved spare), 2 saved, 1 assigned", timeout: .seconds(30)) {
                let all = try await h.store.desktops(pool: "eng")
                return all.count { $0.state == .ready } == 1 && all.count { $0.state == .saved } == 2 && all.count { $0.state == .assigned } == 1
                    && all.contains { $0.state == .ready && savedIDs.contains($0.id) }
            }
        }
        let ready = try #require(try await h.desktops("eng", in: [.ready]).first)
        #expect(savedIDs.contains(ready.id), "the running spare now is a resumed saved one")
        #expect(fake.operations.filter { $0 == "start \(ready.name)" }.count == 2, "started at its first boot, then from its saved state")
        #expect(fake.operations.filter { $0 == "create \(ready.name)" }.count == 1, "resumed, not cloned again")
        #expect(try await h.store.desktop(id: alices.id)?.user == "alice")
    }

    @Test("spare {saved: 1}: a request gets the saved spare, resumed for the user (no clone, no boot), its resume recorded as the wait's boot phase")
    func claimSaved() async throws {
        let fake = FakeHypervisor(host: "a", bootProbes: 5)
        let (h, _) = try await BrokerTests.harness(hosts: [fake])
        try await h.admin.applyPool(Self.pool(running: 0, saved: 1), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "1 saved", timeout: .seconds(20)) { try await h.desktops("eng", in: [.saved]).count == 1 }
        }
        let spare = try #require(try await h.desktops("eng", in: [.saved]).first)
        guard case .preparing(let claimed, _) = try await h.broker.request(.init(user: "bob"), pool: "eng") else {
            Issue.record("bob expected the saved spare, preparing")
            return
        }
        #expect(claimed.id == spare.id && claimed.user == "bob" && claimed.state == .starting)
        try await h.running {
            try await h.wait(for: "bob's desktop assigned", timeout: .seconds(10)) {
                try await h.store.desktop(id: spare.id)?.state == .assigned
            }
        }
        // Resumed, not made again (the fake's resumed guest answers its first probe; a boot takes 5).
        #expect(fake.operations.filter { $0 == "create \(spare.name)" }.count == 1)
        #expect(fake.operations.contains("save \(spare.name)"))
        let usage = try #require(try await h.store.usage(UsageQuery(pool: "eng", user: "bob")).first)
        #expect(usage.provisioningSeconds != nil && usage.bootSeconds != nil && usage.waitSeconds != nil)
    }

    @Test("8 users at once on a pool of 8 saved spares: each gets one (none is told the pool is exhausted)")
    func concurrentClaims() async throws {
        let (h, _) = try await BrokerTests.harness(hosts: [FakeHypervisor(host: "a")])
        var pool = Self.pool(running: 0, saved: 8, max: 8)
        pool.users = (1...8).map { "user\($0)" }
        try await h.admin.applyPool(pool, actor: "admin:test")
        try await h.running {
            try await h.wait(for: "8 saved", timeout: .seconds(20)) { try await h.desktops("eng", in: [.saved]).count == 8 }
        }
        let answers = try await h.requestConcurrently(pool: "eng", users: (1...8).map { "user\($0)" }, groups: [])
        #expect(answers.exhausted == 0 && answers.preparing.count == 8, "\(answers)")
        #expect(Set(answers.preparing.map(\.id)).count == 8, "8 distinct desktops")
    }

    @Test("a saved spare whose domain vanished is marked failed and replaced")
    func vanished() async throws {
        let fake = FakeHypervisor(host: "a")
        let (h, _) = try await BrokerTests.harness(hosts: [fake])
        try await h.admin.applyPool(Self.pool(running: 0, saved: 1), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "1 saved", timeout: .seconds(10)) { try await h.desktops("eng", in: [.saved]).count == 1 }
            let spare = try #require(try await h.desktops("eng", in: [.saved]).first)
            try await fake.destroyDesktop(named: spare.name, volume: spare.volumeName)
            try await h.wait(for: "another saved spare", timeout: .seconds(10)) {
                try await h.desktops("eng", in: [.saved]).contains { $0.id != spare.id }
            }
        }
    }
}
