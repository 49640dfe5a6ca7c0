import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Testing

/// ConfigPolicy, GuestCommandPolicy and CheckPolicy rollouts on the fake hypervisor: the flows
/// of `PolicyQemuTests`, fast.
@Suite("Config, command and check rollouts on a fake hypervisor")
struct PolicyKindsTests {
    static func header(_ kind: String, _ name: String) -> String {
        "apiVersion: deskpool/v1\nkind: \(kind)\nmetadata:\n  name: \(name)\nspec:\n  selector:\n    pools: [eng]\n"
    }

    static func view(_ h: BrokerHarness, _ id: String) async throws -> RolloutView {
        RolloutView(rollout: try #require(try await h.store.rollout(id: id)), items: try await h.store.rolloutItems(rollout: id))
    }

    static func finished(_ h: BrokerHarness, _ id: String) async throws {
        try await h.wait(for: "rollout \(id) to finish", timeout: .seconds(20)) { try await h.store.rollout(id: id)?.state.isFinal == true }
    }

    @Test("a ConfigPolicy: the plan says memory live and vCPUs at next restart; idle desktops restart, the one in use waits for logoff")
    func config() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await RolloutTests.harness(fake)
        try await RolloutTests.pool(h, size: 3, versions: 1)
        guard case .assigned(let hers) = try await h.broker.request(.init(user: "alice"), pool: "eng") else {
            Issue.record("expected an assignment")
            return
        }
        let policy = Self.header("ConfigPolicy", "eng-hw") + "  set:\n    desktop:\n      memoryMiB: 192\n      vcpus: 2\n"
        let plan = try await h.policies.plan(try PolicyRollouts.parse(policy))
        #expect(plan.included.count == 3)
        for change in plan.included {
            #expect(change.changes == ["memoryMiB 256 -> 192 (live)", "vcpus 1 -> 2 (at next restart)"], "\(change.desktop): \(change.changes)")
            #expect(change.method == .restart)
        }
        #expect(plan.included.first { $0.desktop == hers.name }?.impact.contains("alice") == true)
        let rollout = try await h.policies.apply(source: policy, actor: "admin:test")
        let generation = try #require(try await h.store.pool(named: "eng")?.generation)
        try await h.running {
            try await h.wait(for: "two done, alice's waiting", timeout: .seconds(20)) {
                let view = try await Self.view(h, rollout.id)
                return view.counts["done"] == 2 && view.counts["waiting"] == 1
            }
            let facts = try await fake.facts(ofDesktop: hers.name)
            #expect(facts.live?.memoryMiB == 192, "memory changed live on her running desktop")
            #expect(facts.live?.vcpus == 1 && facts.persistent.vcpus == 2, "vCPUs wait for the next restart")
            #expect(facts.identity?.generation == generation)
            #expect(try await h.store.desktop(id: hers.id)?.state.isInSession == true, "her session is untouched")
            _ = try await h.broker.logoff(desktop: hers.id, by: "user:alice")
            try await Self.finished(h, rollout.id)
        }
        #expect(try await h.store.rollout(id: rollout.id)?.state == .completed)
        for desktop in try await h.store.desktops(pool: "eng") {
            let facts = try await fake.facts(ofDesktop: desktop.name)
            #expect(facts.live?.vcpus == 2 && facts.live?.memoryMiB == 192, "\(desktop.name) runs the new definition")
            #expect(desktop.generation == generation)
        }
    }

    @Test("a ConfigPolicy over a dedicated desktop shut down at its user's logoff completes: the desktop keeps its new definition for its next start")
    func configDedicatedShutdown() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await RolloutTests.harness(fake)
        try await h.admin.applyTemplate(BrokerTests.template, actor: "admin:test")
        _ = try await h.admin.publishVersion(template: "tiny", from: .file("/images/tiny-1.qcow2"), note: "v1", actor: "admin:test")
        var spec = BrokerTests.pool(assignment: .dedicated, max: 1, spare: 1)
        spec.session.logoffAction = .shutdown
        try await h.admin.applyPool(spec, actor: "admin:test")
        let policy = Self.header("ConfigPolicy", "eng-cpu") + "  set:\n    desktop:\n      vcpus: 2\n"
        let (hers, rollout) = try await h.running {
            try await h.wait(for: "a ready desktop", timeout: .seconds(10)) { try await h.desktops("eng", in: [.ready]).count == 1 }
            guard case .assigned(let hers) = try await h.broker.request(.init(user: "alice"), pool: "eng") else {
                throw TimeoutError(what: "alice's desktop", duration: .zero)
            }
            let rollout = try await h.policies.apply(source: policy, actor: "admin:test")
            try await h.wait(for: "her desktop waiting for her logoff", timeout: .seconds(20)) {
                try await Self.view(h, rollout.id).counts["waiting"] == 1
            }
            _ = try await h.broker.logoff(desktop: hers.id, by: "user:alice")
            try await Self.finished(h, rollout.id)
            return (hers, rollout)
        }
        let view = try await Self.view(h, rollout.id)
        #expect(view.rollout.state == .completed)
        let item = try #require(view.items.first { $0.desktopID == hers.id })
        #expect(item.status == .done && item.detail?.contains("off since its user's logoff") == true, "\(item.status): \(item.detail ?? "")")
        #expect(try await h.store.desktop(id: hers.id)?.state == .off)
        #expect(try await fake.facts(ofDesktop: hers.name).persistent.vcpus == 2, "it starts with two vCPUs")
    }

    @Test("a configuration pass stopped after claiming its desktops: the next pass changes each once and records it with its desktop's generation")
    func configInterruptedAfterClaims() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await RolloutTests.harness(fake)
        try await RolloutTests.pool(h, size: 3, versions: 1)
        let policy = Self.header("ConfigPolicy", "eng-memory") + "  set:\n    desktop:\n      memoryMiB: 192\n"
        let rollout = try await h.policies.apply(source: policy, actor: "admin:test")
        let generation = try #require(try await h.store.pool(named: "eng")?.generation)
        let items = try await h.store.rolloutItems(rollout: rollout.id)
        #expect(items.count == 3)
        #expect(items.allSatisfy { $0.to == "generation \(generation)" }, "the items are created with the pool's new generation")
        #expect(try await h.store.rollout(id: rollout.id)?.pools.first?.toGeneration == generation)

        // What a pass writes before it touches any desktop; the broker stops right there.
        let claimed = try await h.store.updateRolloutItems(rollout: rollout.id, items.map { item in
            RolloutItemUpdate(desktopID: item.desktopID, from: [.pending]) { claimed, _ in
                claimed.status = .inProgress
                claimed.detail = "changing its definition"
            }
        }, actor: PolicyRollouts.actor(rollout.id))
        #expect(claimed.allSatisfy { $0?.status == .inProgress })
        #expect(!fake.operations.contains { $0.hasPrefix("reconfigure") })

        for _ in 0..<20 where try await h.store.rollout(id: rollout.id)?.state.isFinal == false { await h.rollouts.step() }
        #expect(try await h.store.rollout(id: rollout.id)?.state == .completed)
        #expect(try await h.store.rolloutItems(rollout: rollout.id).map(\.status) == [.done, .done, .done])
        let desktops = try await h.store.desktops(pool: "eng")
        #expect(fake.operations.filter { $0.hasPrefix("reconfigure") }.sorted() == desktops.map { "reconfigure \($0.name)" }.sorted(),
                "each desktop changed once")
        for desktop in desktops {
            #expect(desktop.generation == generation, "\(desktop.name)'s record")
            let facts = try await fake.facts(ofDesktop: desktop.name)
            #expect(facts.persistent.memoryMiB == 192 && facts.live?.memoryMiB == 192, "\(desktop.name)'s definition and live memory")
            #expect(facts.identity?.generation == generation)
        }
    }

    @Test("a GuestCommandPolicy runs on every desktop and records each output; a desktop without an agent fails, not hangs")
    func guestCommand() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await RolloutTests.harness(fake)
        try await RolloutTests.pool(h, size: 3, versions: 1)
        let desktops = try await h.store.desktops(pool: "eng")
        for desktop in desktops {
            fake.scriptGuestCommands(on: desktop.name) { _ in GuestCommandResult(exitCode: 0, stdout: "hello from \(desktop.name)\n", stderr: "") }
        }
        fake.silenceAgent(of: desktops[1].name)
        let policy = Self.header("GuestCommandPolicy", "eng-hello") + "  command:\n    path: /bin/echo\n    args: [hello]\n  concurrency: 2\n  timeout: 5s\n"
        let rollout = try await h.policies.apply(source: policy, actor: "admin:test")
        try await h.running { try await Self.finished(h, rollout.id) }
        let view = try await Self.view(h, rollout.id)
        #expect(view.rollout.state == .completed)
        for item in view.items {
            if item.desktop == desktops[1].name {
                #expect(item.status == .failed && item.detail?.contains("agent does not answer") == true, "\(item.detail ?? "")")
            } else {
                #expect(item.status == .done && item.result?.stdout == "hello from \(item.desktop)\n" && item.result?.exitCode == 0)
            }
        }
        #expect(fake.guestCommands(on: desktops[0].name) == [GuestCommand(path: "/bin/echo", arguments: ["hello"])])
    }

    @Test("a guest command running when the broker stops is recorded interrupted at the next start and never run again; the others run")
    func guestCommandInterrupted() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await RolloutTests.harness(fake)
        try await RolloutTests.pool(h, size: 2, versions: 1)
        let policy = Self.header("GuestCommandPolicy", "eng-once") + "  command:\n    path: /usr/bin/apply-once\n  concurrency: 1\n  timeout: 5s\n"
        let rollout = try await h.policies.apply(source: policy, actor: "admin:test")
        let items = try await h.store.rolloutItems(rollout: rollout.id)
        // What a pass records before it starts the command; the broker is killed right then.
        let first = try #require(items.first)
        _ = try await h.store.updateRolloutItems(rollout: rollout.id, [RolloutItemUpdate(desktopID: first.desktopID, from: [.pending]) { item, _ in
            item.status = .inProgress
        }], actor: PolicyRollouts.actor(rollout.id))

        for _ in 0..<20 where try await h.store.rollout(id: rollout.id)?.state.isFinal == false { await h.rollouts.step() }
        let view = try await Self.view(h, rollout.id)
        #expect(view.rollout.state == .completed)
        let interrupted = try #require(view.items.first { $0.desktopID == first.desktopID })
        #expect(interrupted.status == .interrupted, "\(interrupted.status) \(interrupted.detail ?? "")")
        #expect(interrupted.detail?.contains("may have run") == true)
        #expect(fake.guestCommands(on: interrupted.desktop).isEmpty, "not run again")
        let other = try #require(view.items.first { $0.desktopID != first.desktopID })
        #expect(other.status == .done && fake.guestCommands(on: other.desktop).count == 1, "the other desktop's command ran once")
        #expect(view.counts["interrupted"] == 1)
    }

    @Test("a CheckPolicy: the desktop altered outside Deskpool fails with evidence, the others pass; remediation fixes it")
    func checks() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await RolloutTests.harness(fake)
        try await RolloutTests.pool(h, size: 3, versions: 1)
        let altered = try #require(try await h.store.desktops(pool: "eng").last)
        fake.alterDefinition(altered.name) { $0.usbRedirection = true }
        let policy = Self.header("CheckPolicy", "eng-baseline") + """
              checks:
                - forbiddenDevices: [usbredir, smartcard]
                - configuration: true
                - guestAgent: true
                - templateVersion: {within: 0}
                - noUnexpectedDisks: true
              remediation: refresh

            """
        let rollout = try await h.policies.apply(source: policy, actor: "admin:test")
        try await h.running {
            try await Self.finished(h, rollout.id)
            let view = try await Self.view(h, rollout.id)
            for item in view.items {
                if item.desktop == altered.name {
                    #expect(item.status == .failed)
                    let usb = item.checks?.first { $0.check == "forbiddenDevices" }
                    #expect(usb?.passed == false && usb?.evidence.contains("USB redirection") == true, "\(usb?.evidence ?? "")")
                    #expect(item.checks?.first { $0.check == "configuration" }?.passed == false)
                } else {
                    #expect(item.status == .done, "\(item.desktop): \(item.detail ?? "")")
                }
            }
            #expect(view.rollout.reason?.contains("remediation: refreshing \(altered.name)") == true, "\(view.rollout.reason ?? "")")
            try await h.wait(for: "the altered desktop refreshed", timeout: .seconds(20)) {
                try await h.store.desktop(id: altered.id).map { $0.incarnation > altered.incarnation && $0.state == .ready } == true
            }
            let again = try await h.policies.apply(source: policy.replacingOccurrences(of: "eng-baseline", with: "eng-baseline-2"), actor: "admin:test")
            try await Self.finished(h, again.id)
            #expect(try await Self.view(h, again.id).items.allSatisfy { $0.status == .done }, "all pass after the remediation")
        }
    }

    @Test("a check's remediation cut short after its refreshes (the rollout's note could not be written) goes on at the next pass and refreshes each failed desktop once")
    func remediationOnce() async throws {
        let fake = FakeHypervisor(host: "a")
        let store = FaultyStore(try SQLiteStore.inMemory())
        let h = try await RolloutTests.harness(fake, store: store)
        try await RolloutTests.pool(h, size: 3, versions: 1)
        let altered = try #require(try await h.store.desktops(pool: "eng").last)
        fake.alterDefinition(altered.name) { $0.usbRedirection = true }
        let policy = Self.header("CheckPolicy", "eng-usb") + "  checks:\n    - forbiddenDevices: [usbredir]\n  remediation: refresh\n"
        let rollout = try await h.policies.apply(source: policy, actor: "admin:test")
        // The store takes the desktops' changes but no rollout write: the remediation's note and
        // the rollout's end are lost, as when the broker stops between them.
        store.fail([.updateRollout])
        for _ in 0..<5 { _ = await h.rollouts.step() }
        store.fail([])
        #expect(try await h.store.rollout(id: rollout.id)?.state == .running, "not over while its remediation is not recorded")
        // The refresh finishes before the rollout's next pass: the desktop is ready again.
        let reconciling = Task { try await h.reconciler.run() }
        try await h.wait(for: "the altered desktop refreshed", timeout: .seconds(20)) {
            try await h.store.desktop(id: altered.id).map { $0.incarnation > altered.incarnation && $0.state == .ready } == true
        }
        reconciling.cancel()
        _ = try? await reconciling.value
        for _ in 0..<5 where try await h.store.rollout(id: rollout.id)?.state.isFinal == false { _ = await h.rollouts.step() }

        let view = try await Self.view(h, rollout.id)
        #expect(view.rollout.state == .completed)
        #expect(view.rollout.reason == "remediation: refreshing \(altered.name)", "\(view.rollout.reason ?? "")")
        #expect(view.items.first { $0.desktopID == altered.id }?.remediation == .refreshing)
        let desktop = try #require(try await h.store.desktop(id: altered.id))
        #expect(desktop.incarnation == altered.incarnation + 1 && desktop.state == .ready, "refreshed once: incarnation \(desktop.incarnation), \(desktop.state)")
        let refreshes = try await h.store.auditLog(AuditQuery(subject: "desktop/\(altered.name)", actor: PolicyRollouts.actor(rollout.id), action: "desktop.state"))
        #expect(refreshes.count == 1, "\(refreshes.map(\.detail))")
    }
}
