import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Testing

/// An image update never destroys a user's data silently: a dedicated desktop with a user is
/// kept on its version unless the policy says `dedicated: replace`, and then the plan says
/// `destroys user data`.
@Suite("Dedicated desktops in image updates")
struct DedicatedUpdateTests {
    static func policy(dedicated: String? = nil, logoff: String = "mode: waitForLogoff", pool: String = "eng") -> String {
        """
        apiVersion: deskpool/v1
        kind: UpdatePolicy
        metadata:
          name: update
        spec:
          selector:
            pools: [\(pool)]
          version: 2
          logoff:
            \(logoff)
          strategy:
            canary: 1
            maxUnavailable: 2
            healthGate:
              timeout: 10s
        \(dedicated.map { "  dedicated: \($0)" } ?? "")
        """
    }

    // MARK: - The plan, per kind of desktop

    static let force = "{mode: forceAfter, after: 5m}"
    static let destroys = "destroys user data: "

    /// (pool assignment, desktop state, user, dedicated:, logoff, expected impact, skipped)
    static let kinds: [(PoolSpec.Assignment, DesktopState, String?, String?, String, String, String?)] = [
        (.floating, .ready, nil, nil, "mode: waitForLogoff", "none: idle; out of service while it is cloned again", nil),
        (.floating, .connected, "alice", nil, "mode: waitForLogoff", "alice: nothing now; the desktop is refreshed after they log off", nil),
        (.floating, .connected, "alice", "replace", "mode: waitForLogoff", "alice: nothing now; the desktop is refreshed after they log off", nil),
        (.dedicated, .ready, nil, nil, "mode: waitForLogoff", "none: idle; out of service while it is cloned again", nil),
        (.dedicated, .assigned, "bob", nil, "mode: waitForLogoff", "none", DedicatedUpdate.keptReason),
        (.dedicated, .off, "bob", "keep", "mode: waitForLogoff", "none", DedicatedUpdate.keptReason),
        (.dedicated, .assigned, "bob", "replace", "mode: waitForLogoff",
         destroys + "bob's disk is replaced by a clone of the new version after they log off", nil),
        (.dedicated, .connected, "bob", "replace", force,
         destroys + "bob is warned when its wave starts and logged off 5 min later; then bob's disk is replaced by a clone of the new version", nil),
        (.dedicated, .off, "carol", "replace", "mode: waitForLogoff",
         destroys + "carol's disk is replaced by a clone of the new version now (it stays off until they open it)", nil),
    ]

    @Test("the plan's impact per kind of desktop", arguments: kinds)
    func impact(_ row: (PoolSpec.Assignment, DesktopState, String?, String?, String, String, String?)) throws {
        let (assignment, state, user, dedicated, logoff, impact, skipped) = row
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let pool = PoolSpec(name: "eng", template: "tiny", version: .pinned(1), assignment: assignment)
        let versions = (1...2).map { TemplateVersion(template: "tiny", number: $0, volume: "tiny-\($0).qcow2", note: "", createdAt: now, createdBy: "t") }
        let desktop = Desktop(name: "eng-001", pool: "eng", host: "a", template: "tiny", version: 1, state: state, user: user, createdAt: now)
        let plan = try PolicyPlanner.plan(PolicyPlanner.Input(
            policy: try PolicyRollouts.parse(Self.policy(dedicated: dedicated, logoff: logoff)), pools: [pool], versions: ["tiny": versions],
            desktops: [desktop], now: now))
        let change = try #require(plan.desktops.first)
        #expect(change.impact == impact)
        #expect(change.skipped?.description == skipped)
        #expect((change.wave == nil) == (skipped != nil))
    }

    // MARK: - The policy file

    @Test("dedicated: keep (the default) or replace; anything else is refused with its line and column")
    func policyFile() throws {
        guard case .update(let plain) = try PolicyFile.decode(yaml: Self.policy()).spec,
              case .update(let replace) = try PolicyFile.decode(yaml: Self.policy(dedicated: "replace")).spec,
              case .update(let keep) = try PolicyFile.decode(yaml: Self.policy(dedicated: "keep")).spec else {
            Issue.record("expected UpdatePolicy specs")
            return
        }
        #expect(plain.dedicated == .keep && keep.dedicated == .keep && replace.dedicated == .replace)
        for bad in ["wipe", "[replace]", "yes"] {
            let error = #expect(throws: ConfigurationError.self) { _ = try PolicyFile.decode(yaml: Self.policy(dedicated: bad), file: "bad.yaml") }
            #expect(error?.code == .invalidValue, "\(bad)")
            #expect(error?.line == 16 && error?.column == 14, "\(error?.description ?? "")")
            #expect(error?.message.contains("keep or replace") == true, "\(error?.description ?? "")")
        }
    }

    @Test("a rollout's percentages count the desktops it changes, not the dedicated ones it keeps")
    func keptItemsDoNotDilute() {
        // Two desktops to update, one failed; four dedicated ones kept. failureThreshold 50%
        // of the 2 is 1: halt (of all 6 it would be 3).
        var items = UpdateRuleTests.items([(.failed, 0), (.pending, 1), (.skipped, 1), (.skipped, 1), (.skipped, 1), (.skipped, 1)])
        for index in 2..<items.count { items[index].detail = DedicatedUpdate.keptReason }
        let d = UpdateRuleTests.desktops([(.failed, nil, 2, nil), (.ready, nil, 1, nil)]
                                                   + Array(repeating: (.assigned, "bob", 1, nil), count: 4))
        var strategy = RolloutStrategy()
        strategy.failureThreshold = .percent(50)
        #expect(UpdateRuleTests.decide(items, d, strategy: strategy).contains { $0.hasPrefix("halt: 1 desktop(s) failed") })
    }

    // MARK: - Rollouts on the fake hypervisor

    /// A dedicated pool pinned to v1 (v2 published) with alice's desktop assigned to her.
    static func dedicatedPool(_ h: BrokerHarness) async throws -> Desktop {
        try await h.admin.applyTemplate(BrokerTests.template, actor: "admin:test")
        for n in 1...2 {
            _ = try await h.admin.publishVersion(template: "tiny", from: .file("/images/tiny-\(n).qcow2"), note: "v\(n)", actor: "admin:test")
        }
        var spec = BrokerTests.pool(assignment: .dedicated, max: 3, spare: 1)
        spec.version = .pinned(1)
        try await h.admin.applyPool(spec, actor: "admin:test")
        try await h.running {
            try await h.wait(for: "a spare", timeout: .seconds(20)) { try await h.desktops("eng", in: [.ready]).count == 1 }
        }
        guard case .assigned(let hers) = try await h.broker.request(.init(user: "alice"), pool: "eng") else {
            throw DeskpoolError(.conflict, "expected an assignment")
        }
        return hers
    }

    @Test("keep (the default): alice's dedicated desktop keeps its disk and version; its item is skipped with the reason")
    func keep() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await RolloutTests.harness(fake)
        let hers = try await Self.dedicatedPool(h)
        let plan = try await h.policies.plan(try PolicyRollouts.parse(Self.policy()))
        #expect(plan.desktops.first { $0.desktopID == hers.id }?.skipped == .keptDedicated)
        #expect(!plan.desktops.contains { $0.impact.hasPrefix("destroys user data") })

        let rollout = try await h.policies.apply(source: Self.policy(), actor: "admin:test")
        try await h.running {
            try await h.wait(for: "the rollout completes", timeout: .seconds(20)) { try await h.store.rollout(id: rollout.id)?.state == .completed }
        }
        let desktop = try #require(try await h.store.desktop(id: hers.id))
        #expect(desktop.version == 1 && desktop.incarnation == hers.incarnation && desktop.user == "alice" && desktop.targetVersion == nil)
        #expect(fake.volumeNames().contains(hers.volumeName), "her disk is still there")
        let item = try #require(try await h.store.rolloutItems(rollout: rollout.id).first { $0.desktopID == hers.id })
        #expect(item.status == .skipped)
        #expect(item.detail == DedicatedUpdate.keptReason)
        let audit = try await h.store.auditLog(subject: "rollout/\(rollout.id)/\(hers.name)", limit: 10)
        #expect(audit.isEmpty, "the rollout never touched it: \(audit.map(\.detail))")
    }

    @Test("replace: the plan says it destroys alice's data, and her desktop is re-cloned on v2 after she logs off")
    func replace() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await RolloutTests.harness(fake)
        let hers = try await Self.dedicatedPool(h)
        let source = Self.policy(dedicated: "replace")
        let plan = try await h.policies.plan(try PolicyRollouts.parse(source))
        let change = try #require(plan.included.first { $0.desktopID == hers.id })
        #expect(change.impact.hasPrefix("destroys user data: alice's disk"))

        let rollout = try await h.policies.apply(source: source, actor: "admin:test")
        try await h.running {
            try await h.wait(for: "her item waits for her logoff", timeout: .seconds(20)) {
                try await h.store.rolloutItems(rollout: rollout.id).first { $0.desktopID == hers.id }?.status == .waiting
            }
            _ = try await h.broker.logoff(desktop: hers.id, by: "user:alice")
            try await h.wait(for: "the rollout completes", timeout: .seconds(20)) { try await h.store.rollout(id: rollout.id)?.state == .completed }
        }
        let desktop = try #require(try await h.store.desktop(id: hers.id))
        #expect(desktop.version == 2 && desktop.incarnation == hers.incarnation + 1 && desktop.user == "alice")
        #expect(!fake.volumeNames().contains(hers.volumeName), "her old disk is gone")
        #expect(try await h.store.rolloutItems(rollout: rollout.id).first { $0.desktopID == hers.id }?.status == .done)
    }

    @Test("a CheckPolicy's remediation refresh never re-clones a dedicated desktop with a user")
    func remediation() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await RolloutTests.harness(fake)
        let hers = try await Self.dedicatedPool(h)
        fake.alterDefinition(hers.name) { $0.usbRedirection = true }
        let policy = PolicyKindsTests.header("CheckPolicy", "eng-baseline") + """
              checks:
                - forbiddenDevices: [usbredir]
              remediation: refresh

            """
        let rollout = try await h.policies.apply(source: policy, actor: "admin:test")
        try await h.running {
            try await PolicyKindsTests.finished(h, rollout.id)
            let view = try await PolicyKindsTests.view(h, rollout.id)
            #expect(view.items.first { $0.desktopID == hers.id }?.status == .failed)
            #expect(view.rollout.reason?.contains("kept \(hers.name) (dedicated") == true, "\(view.rollout.reason ?? "")")
        }
        let desktop = try #require(try await h.store.desktop(id: hers.id))
        #expect(desktop.incarnation == hers.incarnation && desktop.user == "alice" && desktop.targetVersion == nil)
        #expect(fake.volumeNames().contains(hers.volumeName))
    }
}
