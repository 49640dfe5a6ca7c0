import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Testing

/// The broker's flows on the fake hypervisor and a real SQLite store: fast, and every rule
/// visible. The same flows run on qemu:///system in `BrokerQemuTests`.
@Suite("Broker on a fake hypervisor")
struct BrokerTests {
    static let template = TemplateDefinition(name: "tiny", vcpus: 1, memoryMiB: 256, bootTimeoutSeconds: 5, domainXML: "<domain/>")

    static func harness(hosts: [FakeHypervisor] = [FakeHypervisor(host: "a")], broker: BrokerConfiguration? = nil) async throws -> (BrokerHarness, TemplateVersion) {
        var configuration = broker ?? BrokerConfiguration()
        if broker == nil { configuration.backoffBaseSeconds = 60 }
        let harness = BrokerHarness(store: try SQLiteStore.inMemory(), hypervisors: hosts,
                                    options: .init(broker: configuration, probeInterval: .milliseconds(5)))
        try await harness.admin.applyTemplate(template, actor: "admin:test")
        let version = try await harness.admin.publishVersion(template: "tiny", from: .file("/images/tiny.qcow2"), note: "first", actor: "admin:test")
        return (harness, version)
    }

    static func pool(_ name: String = "eng", assignment: PoolSpec.Assignment = .floating, max: Int = 10, spare: Int = 3) -> PoolSpec {
        PoolSpec(name: name, template: "tiny", assignment: assignment, max: max, spare: spare, naming: NamePattern("\(name)-{n:03}"),
                 users: ["alice", "bob"], groups: ["staff"])
    }

    @Test("a floating pool with spare 3 reaches 3 ready linked clones of the version's base volume")
    func fillsSpares() async throws {
        let fake = FakeHypervisor(host: "a", bootProbes: 2)
        let (h, version) = try await Self.harness(hosts: [fake])
        try await h.admin.applyPool(Self.pool(), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "3 ready", timeout: .seconds(10)) { try await h.desktops("eng", in: [.ready]).count == 3 }
        }
        let ready = try await h.store.desktops(pool: "eng")
        #expect(ready.map(\.name) == ["eng-001", "eng-002", "eng-003"])
        for desktop in ready {
            #expect(fake.backing(of: desktop.volumeName) == version.volume)
        }
        let audit = try await h.store.auditLog(subject: "desktop/eng-001", limit: 10).map(\.detail)
        #expect(audit.contains { $0.contains("provisioning -> starting") })
        #expect(audit.contains { $0.contains("starting -> ready") })
    }

    @Test("request -> assigned; logoff -> refreshed (old domain and volume gone, a new clean one ready)")
    func requestAndLogoff() async throws {
        let fake = FakeHypervisor(host: "a")
        let (h, _) = try await Self.harness(hosts: [fake])
        try await h.admin.applyPool(Self.pool(spare: 1), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "1 ready", timeout: .seconds(10)) { try await h.desktops("eng", in: [.ready]).count == 1 }
        }
        // The reconciler is stopped while the session runs, so no pass can act on a record
        // read before the logoff (it would provision a spare, then retire one: correct, but
        // not the path under test).
        guard case .assigned(let desktop) = try await h.broker.request(.init(user: "alice"), pool: "eng") else {
            Issue.record("expected an assignment")
            return
        }
        #expect(desktop.user == "alice")
        #expect(desktop.state == .assigned)
        // The same user asking again gets the same desktop back.
        #expect(try await h.broker.request(.init(user: "alice"), pool: "eng") == .assigned(desktop))
        try await h.broker.logoff(desktop: desktop.id, by: "alice")
        try await h.running {
            try await h.wait(for: "refreshed", timeout: .seconds(10)) {
                let d = try await h.store.desktop(id: desktop.id)
                return d?.state == .ready && d?.incarnation == 2
            }
            let refreshed = try #require(try await h.store.desktop(id: desktop.id))
            #expect(refreshed.user == nil)
            #expect(!fake.volumeNames().contains(desktop.volumeName))
            #expect(fake.volumeNames().contains(refreshed.volumeName))
            #expect(fake.operations.filter { $0 == "destroy \(desktop.name)" }.count == 1)
        }
    }

    @Test("a dedicated user gets the same desktop back after logoff")
    func dedicated() async throws {
        let (h, _) = try await Self.harness()
        try await h.admin.applyPool(Self.pool("lab", assignment: .dedicated, spare: 1), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "1 ready", timeout: .seconds(10)) { try await h.desktops("lab", in: [.ready]).count == 1 }
            guard case .assigned(let first) = try await h.broker.request(.init(user: "bob"), pool: "lab") else {
                Issue.record("expected an assignment")
                return
            }
            try await h.broker.logoff(desktop: first.id, by: "bob")
            guard case .assigned(let second) = try await h.broker.request(.init(user: "bob"), pool: "lab") else {
                Issue.record("expected an assignment")
                return
            }
            #expect(second.id == first.id)
            #expect(second.incarnation == first.incarnation)
        }
    }

    @Test("maxPerUser: another desktop on request, up to the limit")
    func maxPerUser() async throws {
        let (h, _) = try await Self.harness()
        var spec = Self.pool(spare: 0)
        spec.maxPerUser = 2
        try await h.admin.applyPool(spec, actor: "admin:test")
        let alice = SessionBroker.Principal(user: "alice")
        guard case .preparing(let first, _) = try await h.broker.request(alice, pool: "eng"),
              case .preparing(let again, _) = try await h.broker.request(alice, pool: "eng"),
              case .preparing(let second, _) = try await h.broker.request(alice, pool: "eng", another: true)
        else {
            Issue.record("expected reservations")
            return
        }
        #expect(again.id == first.id)
        #expect(second.id != first.id)
        let error = await #expect(throws: DeskpoolError.self) { try await h.broker.request(alice, pool: "eng", another: true) }
        #expect(error?.code == .conflict)
        #expect(try await h.store.desktops(pool: "eng").count == 2)
    }

    @Test("entitlement: users and groups; others are refused and nothing changes")
    func entitlement() async throws {
        let (h, _) = try await Self.harness()
        try await h.admin.applyPool(Self.pool(spare: 0), actor: "admin:test")
        await #expect(throws: DeskpoolError.self) { try await h.broker.request(.init(user: "mallory", groups: ["guests"]), pool: "eng") }
        let viaGroup = try await h.broker.request(.init(user: "carol", groups: ["staff"]), pool: "eng")
        guard case .preparing(let reserved, let estimate) = viaGroup else {
            Issue.record("expected preparing, got \(viaGroup)")
            return
        }
        #expect(reserved.user == "carol")
        #expect(estimate > 0)
        #expect(try await h.store.desktops(pool: "eng").count == 1)
    }

    @Test("50 concurrent requests against 20 ready desktops: 20 distinct assignments, the rest preparing or exhausted by max")
    func concurrentRequests() async throws {
        let (h, _) = try await Self.harness(hosts: [FakeHypervisor(host: "a"), FakeHypervisor(host: "b")])
        try await h.admin.applyPool(Self.pool(max: 30, spare: 20), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "20 ready", timeout: .seconds(20)) { try await h.desktops("eng", in: [.ready]).count == 20 }
        }
        // The reconciler is stopped, so the pool cannot grow behind the requests' backs.
        let answers = try await h.requestConcurrently(pool: "eng", users: (0..<50).map { "user\($0)" }, groups: ["staff"])
        let (assigned, preparing, exhausted) = (answers.assigned, answers.preparing, answers.exhausted)
        #expect(assigned.count == 20)
        #expect(Set(assigned.map(\.id)).count == 20)
        #expect(preparing.count == 10)
        #expect(exhausted == 20)
        #expect(Set((assigned + preparing).map(\.id)).count == 30)
        #expect(Set((assigned + preparing).compactMap(\.user)).count == 30)
        #expect(try await h.store.desktops(pool: "eng").count == 30)
    }

    @Test("a template whose guests fail: not counted ready, backs off with the reason, other pools untouched")
    func brokenTemplate() async throws {
        let fake = FakeHypervisor(host: "a")
        let (h, good) = try await Self.harness(hosts: [fake])
        try await h.admin.applyPool(Self.pool("ok", spare: 2), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "ok ready", timeout: .seconds(10)) { try await h.desktops("ok", in: [.ready]).count == 2 }
            let bad = try await h.admin.publishVersion(template: "tiny", from: .file("/images/broken.qcow2"), note: "broken", actor: "admin:test")
            fake.breakGuests(onBase: bad.volume, reason: "paused: internal error")
            var spec = Self.pool("bad", spare: 3)
            spec.version = .pinned(bad.number)
            try await h.admin.applyPool(spec, actor: "admin:test")
            try await h.wait(for: "the first attempts to fail", timeout: .seconds(10)) {
                try await h.desktops("bad", in: [.failed]).count == 3
            }
            // Let many passes run: the backoff (60 s) must hold the pool at its first attempts.
            let passes = h.reconciler.passes
            try await h.wait(for: "more passes", timeout: .seconds(10)) { h.reconciler.passes > passes + 5 }
            let desktops = try await h.store.desktops(pool: "bad")
            #expect(desktops.count == 3)
            #expect(desktops.allSatisfy { $0.state == .failed && $0.reason?.contains("internal error") == true })
            #expect(fake.operations.filter { $0.hasPrefix("create bad-") }.count == 3)
            let health = h.reconciler.health(pool: "bad")
            #expect(health.failures == 3)
            #expect(health.retryAt.map { $0 > Date().addingTimeInterval(30) } == true)
            #expect(health.lastError?.contains("internal error") == true)
            #expect(try await h.desktops("ok", in: [.ready]).map(\.version) == [good.number, good.number])
        }
    }

    @Test("a missing base volume fails provisioning with the reason")
    func missingVolume() async throws {
        let fake = FakeHypervisor(host: "a")
        let (h, version) = try await Self.harness(hosts: [fake])
        try await fake.deleteVolume(named: version.volume)
        try await h.admin.applyPool(Self.pool(spare: 2), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "the attempts to fail", timeout: .seconds(10)) { try await h.desktops("eng", in: [.failed]).count == 2 }
        }
        let failed = try await h.desktops("eng", in: [.failed])
        #expect(failed.allSatisfy { $0.reason?.contains("base volume dp-base-tiny-v1.qcow2 is missing") == true })
        #expect(fake.domainNames().isEmpty)
    }

    @Test("bad pool definitions are refused naming the field, and nothing changes", arguments: [
        (PoolSpec(name: "p", template: "nope"), "template"),
        (PoolSpec(name: "p", template: "tiny", version: .pinned(7)), "version"),
        (PoolSpec(name: "p", template: "tiny", hosts: ["elsewhere"]), "hosts"),
        (PoolSpec(name: "p", template: "tiny", min: 5, max: 2), "min"),
        (PoolSpec(name: "p", template: "tiny", spare: -1), "spare"),
        (PoolSpec(name: "p/../x", template: "tiny"), "name"),
    ])
    func badPools(spec: PoolSpec, field: String) async throws {
        let (h, _) = try await Self.harness()
        let error = await #expect(throws: DeskpoolError.self) { try await h.admin.applyPool(spec, actor: "admin:test") }
        #expect(error?.field == field)
        #expect(try await h.store.pools().isEmpty)
        // The refusal is in the audit log: who tried what, and why it was refused.
        let entry = try await h.store.auditLog(subject: "pool/\(spec.name)", limit: 1).first
        #expect(entry?.actor == "admin:test")
        #expect(entry?.action == "pool.put")
        #expect(entry?.result.hasPrefix("error: ") == true)
    }
}
