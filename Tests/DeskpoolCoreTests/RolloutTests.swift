import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Testing

/// Image-update rollouts on the fake hypervisor and a real SQLite store: the flows of
/// `RolloutQemuTests`, fast, with every rule visible.
@Suite("Rollouts on a fake hypervisor")
struct RolloutTests {
    static func harness(_ fake: FakeHypervisor, store: (any Store)? = nil) async throws -> BrokerHarness {
        var configuration = BrokerConfiguration()
        configuration.backoffBaseSeconds = 60
        return BrokerHarness(store: try store ?? SQLiteStore.inMemory(), hypervisors: [fake],
                             options: .init(broker: configuration, probeInterval: .milliseconds(5)))
    }

    /// A pool of `size` ready desktops pinned to v1, and versions 1...`versions` published.
    static func pool(_ h: BrokerHarness, size: Int, versions: Int) async throws {
        try await h.admin.applyTemplate(BrokerTests.template, actor: "admin:test")
        for n in 1...versions {
            _ = try await h.admin.publishVersion(template: "tiny", from: .file("/images/tiny-\(n).qcow2"), note: "v\(n)", actor: "admin:test")
        }
        var spec = BrokerTests.pool(max: size, spare: size)
        spec.version = .pinned(1)
        spec.min = size
        try await h.admin.applyPool(spec, actor: "admin:test")
        try await h.running {
            try await h.wait(for: "\(size) ready", timeout: .seconds(20)) { try await h.desktops("eng", in: [.ready]).count == size }
        }
    }

    static func policy(version: String = "latest", canary: String = "1", waveSize: String = "\"50%\"", logoff: String = "mode: waitForLogoff",
                       gate: String = "10s") -> String {
        """
        apiVersion: deskpool/v1
        kind: UpdatePolicy
        metadata:
          name: eng-update
        spec:
          selector:
            pools: [eng]
          version: \(version)
          logoff:
            \(logoff)
          strategy:
            canary: \(canary)
            waveSize: \(waveSize)
            maxUnavailable: 2
            failureThreshold: 1
            autoRollback: true
            healthGate:
              timeout: \(gate)
        """
    }

    static func view(_ h: BrokerHarness, _ id: String) async throws -> RolloutView {
        RolloutView(rollout: try #require(try await h.store.rollout(id: id)), items: try await h.store.rolloutItems(rollout: id))
    }

    @Test("a pool of 6 moves from v1 to v2: canary, then waves; the desktop in use waits for its user's logoff")
    func updateWithLogoff() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await Self.pool(h, size: 6, versions: 2)
        guard case .assigned(let alices) = try await h.broker.request(.init(user: "alice"), pool: "eng") else {
            Issue.record("expected an assignment")
            return
        }
        let plan = try await h.policies.plan(try PolicyRollouts.parse(Self.policy()))
        #expect(plan.included.count == 6)
        #expect(plan.waves == 3, "a canary of 1, then 50% of 6 twice")
        #expect(plan.included.last?.desktop == alices.name, "the desktop in use comes last")
        #expect(plan.included.last?.impact.contains("alice") == true)
        #expect(plan.included.first?.wave == 0 && plan.included.dropFirst().first?.wave == 1)

        let rollout = try await h.policies.apply(source: Self.policy(), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "all but alice's desktop on v2", timeout: .seconds(20)) {
                let view = try await Self.view(h, rollout.id)
                return view.counts["done"] == 5 && view.counts["waiting"] == 1
            }
            let hers = try #require(try await h.store.desktop(id: alices.id))
            #expect(hers.version == 1 && hers.state.isInSession && hers.user == "alice", "her desktop is untouched while she uses it")
            #expect(try await h.store.pool(named: "eng")?.version == .pinned(2), "the pool moved to v2 after the canary")
            _ = try await h.broker.logoff(desktop: alices.id, by: "user:alice")
            try await h.wait(for: "the rollout completes", timeout: .seconds(20)) {
                try await h.store.rollout(id: rollout.id)?.state == .completed
            }
        }
        let desktops = try await h.store.desktops(pool: "eng")
        #expect(desktops.allSatisfy { $0.version == 2 && $0.targetVersion == nil }, "\(desktops.map { "\($0.name) v\($0.version)" })")
        let audit = try await h.store.auditLog(subject: "rollout/\(rollout.id)/\(alices.name)", limit: 10).map(\.detail)
        #expect(audit.contains { $0.contains("pending -> waiting") }, "\(audit)")
        // Straight from waiting when the refresh was quicker than the next rollout pass.
        #expect(audit.contains { $0.contains("inProgress -> done") || $0.contains("waiting -> done") }, "\(audit)")
    }

    @Test("a broken v3 fails the canary's gate: the rollout halts, rolls back, and no session is disturbed")
    func brokenVersionRollsBack() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await Self.pool(h, size: 3, versions: 3)
        fake.breakGuests(onBase: TemplateVersion.volumeName(template: "tiny", number: 3), reason: "KVM internal error")
        guard case .assigned(let bobs) = try await h.broker.request(.init(user: "bob"), pool: "eng") else {
            Issue.record("expected an assignment")
            return
        }
        let rollout = try await h.policies.apply(source: Self.policy(version: "3"), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "the rollout rolls back", timeout: .seconds(30)) {
                try await h.store.rollout(id: rollout.id)?.state == .rolledBack
            }
        }
        let view = try await Self.view(h, rollout.id)
        #expect(view.rollout.reason?.contains("failed the health gate") == true, "\(view.rollout.reason ?? "")")
        let canary = try #require(view.items.first)
        #expect(canary.status == .rolledBack)
        let failure = try await h.store.auditLog(subject: "rollout/\(rollout.id)/\(canary.desktop)", limit: 20).map(\.detail)
        #expect(failure.contains { $0.contains("-> failed") && $0.contains("KVM internal error") }, "\(failure)")
        #expect(try await h.store.pool(named: "eng")?.version == .pinned(1))
        let bob = try #require(try await h.store.desktop(id: bobs.id))
        #expect(bob.user == "bob" && bob.state.isInSession && bob.version == 1 && bob.targetVersion == nil, "bob's session is untouched")
        #expect(fake.messages(on: bobs.name).isEmpty, "bob was not warned")
        for desktop in try await h.store.desktops(pool: "eng") { #expect(desktop.version == 1, "\(desktop.name) is on v\(desktop.version)") }
    }

    @Test("forceAfter warns the user on their desktop, then logs them off after the grace period")
    func forcedLogoff() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await Self.pool(h, size: 2, versions: 2)
        guard case .assigned(let carols) = try await h.broker.request(.init(user: "alice"), pool: "eng") else {
            Issue.record("expected an assignment")
            return
        }
        let policy = Self.policy(canary: "0", waveSize: "\"100%\"", logoff: "mode: forceAfter\n    after: 2s\n    message: \"Update: logging off in {minutes} minute(s)\"")
        let rollout = try await h.policies.apply(source: policy, actor: "admin:test")
        try await h.running {
            try await h.wait(for: "the warning", timeout: .seconds(10)) { !fake.messages(on: carols.name).isEmpty }
            let warnedAt = Date()
            #expect(fake.messages(on: carols.name) == ["Update: logging off in 1 minute(s)"])
            #expect(try await h.store.desktop(id: carols.id)?.user == "alice", "still hers during the grace period")
            try await h.wait(for: "the rollout completes", timeout: .seconds(20)) {
                try await h.store.rollout(id: rollout.id)?.state == .completed
            }
            #expect(Date().timeIntervalSince(warnedAt) >= 1.5, "the logoff waited for the grace period")
        }
        let desktop = try #require(try await h.store.desktop(id: carols.id))
        #expect(desktop.version == 2 && desktop.user == nil)
        let audit = try await h.store.auditLog(AuditQuery(action: "rollout.warn", limit: 5))
        #expect(audit.first?.subject == "desktop/\(carols.name)")
    }

    @Test("a rollout survives a broker restart: a new service on the same store continues it")
    func resumesAfterRestart() async throws {
        let fake = FakeHypervisor(host: "a")
        let store = try SQLiteStore.inMemory()
        let h = try await Self.harness(fake, store: store)
        try await Self.pool(h, size: 4, versions: 2)
        let rollout = try await h.policies.apply(source: Self.policy(), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "the canary is done", timeout: .seconds(10)) {
                try await Self.view(h, rollout.id).counts["done"] ?? 0 >= 1
            }
        }
        // A second broker (new reconciler, session and rollout services) on the same store.
        let again = try await Self.harness(fake, store: store)
        try await again.running {
            try await again.wait(for: "the rollout completes", timeout: .seconds(20)) {
                try await again.store.rollout(id: rollout.id)?.state == .completed
            }
        }
        #expect(try await store.desktops(pool: "eng").allSatisfy { $0.version == 2 })
    }

    @Test("pause stops new desktops, resume continues; cancel keeps changed desktops and leaves the rest")
    func pauseResumeCancel() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await Self.pool(h, size: 4, versions: 2)
        let rollout = try await h.policies.apply(source: Self.policy(), actor: "admin:test")
        _ = try await h.policies.pause(rollout.id, actor: "admin:test")
        for _ in 0..<5 { _ = await h.rollouts.step() }
        #expect(try await Self.view(h, rollout.id).counts["pending"] == 4, "nothing starts while paused")
        try await h.running {
            _ = try await h.policies.resume(rollout.id, actor: "admin:test")
            try await h.wait(for: "the canary is done", timeout: .seconds(10)) {
                try await Self.view(h, rollout.id).counts["done"] ?? 0 >= 1
            }
            _ = try await h.policies.cancel(rollout.id, actor: "admin:test")
        }
        let view = try await Self.view(h, rollout.id)
        #expect(view.rollout.state == .cancelled)
        for item in view.items {
            let desktop = try #require(try await h.store.desktop(id: item.desktopID))
            if item.status == .done { #expect(desktop.version == 2) }
            if item.status == .skipped { #expect(desktop.version == 1 && desktop.targetVersion == nil) }
        }
        await #expect(throws: DeskpoolError.self) { try await h.policies.resume(rollout.id, actor: "admin:test") }
    }

    @Test("apply refuses a policy for an unknown pool or version, and a pool already in a rollout")
    func refusals() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await Self.pool(h, size: 1, versions: 2)
        let unknownPool = Self.policy().replacingOccurrences(of: "pools: [eng]", with: "pools: [nope]")
        await #expect(throws: DeskpoolError(.notFound, "pool nope does not exist", field: "spec.selector.pools")) {
            try await h.policies.apply(source: unknownPool, actor: "admin:test")
        }
        await #expect(throws: DeskpoolError.self) { try await h.policies.apply(source: Self.policy(version: "9"), actor: "admin:test") }
        #expect(try await h.store.rollouts(active: false, limit: 10).isEmpty, "nothing was recorded")
        _ = try await h.policies.apply(source: Self.policy(), actor: "admin:test")
        await #expect(throws: DeskpoolError.self) { try await h.policies.apply(source: Self.policy(), actor: "admin:test") }
    }

    @Test("a pool on latest moves from the version its desktops run, and stays there until the canary passes")
    func latestPool() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await Self.pool(h, size: 2, versions: 1)
        var spec = try #require(try await h.store.pool(named: "eng"))
        spec.version = .latest
        try await h.admin.applyPool(spec, actor: "admin:test")
        _ = try await h.admin.publishVersion(template: "tiny", from: .file("/images/tiny-2.qcow2"), note: "v2", actor: "admin:test")
        let rollout = try await h.policies.apply(source: Self.policy(), actor: "admin:test")
        #expect(rollout.pools.first?.fromVersion == 1 && rollout.pools.first?.toVersion == 2)
        #expect(try await h.store.pool(named: "eng")?.version == .pinned(1), "pinned to the old version until the canary passes")
        _ = try await h.policies.rollback(rollout.id, actor: "admin:test")
        #expect(try await h.store.pool(named: "eng")?.version == .pinned(1), "a rollback goes back to v1, not to latest (v2)")
    }
}
