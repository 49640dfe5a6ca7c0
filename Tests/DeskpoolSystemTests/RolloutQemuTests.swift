import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Testing

/// Image-update rollouts on real parts: `RolloutService`, the reconciler and the session broker
/// in this process, `LibvirtHypervisor` on qemu:///system, tiny guests (TCG here). Each
/// desktop's version is checked in libvirt's own metadata, not only in the store.
@Suite(
    "Rollouts on qemu:///system with real guests", .serialized,
    .enabled(if: TestTier.tinyGuest.isEnabled, Comment(rawValue: TestTier.tinyGuest.skipReason)))
struct RolloutQemuTests {
    /// A pool `upd` of `size` ready desktops pinned to v1, with `extra` more versions published
    /// (image files; the tiny image by default).
    static func withPool(size: Int, extra: [String], _ body: @escaping @Sendable (BrokerHarness, LibvirtHypervisor, String) async throws -> Void) async throws {
        try await BrokerQemuTests.withBroker { h, _, hypervisor, prefix in
            for (index, image) in extra.enumerated() {
                _ = try await h.admin.publishVersion(template: "tiny-linux", from: .file(image), note: "v\(index + 2)", actor: "admin:test")
            }
            var pool = BrokerQemuTests.pool("upd", prefix: prefix, spare: size, max: size, version: .pinned(1))
            pool.min = size
            try await h.admin.applyPool(pool, actor: "admin:test")
            try await h.running {
                try await h.wait(for: "\(size) ready desktops", timeout: .seconds(900), poll: .seconds(1)) {
                    try await h.desktops("upd", in: [.ready]).count == size
                }
                try await body(h, hypervisor, prefix)
            }
        }
    }

    static func policy(version: Int, canary: Int = 1, waveSize: String = "50%", logoff: String = "mode: waitForLogoff", gate: String = "10m") -> String {
        """
        apiVersion: deskpool/v1
        kind: UpdatePolicy
        metadata:
          name: upd-v\(version)
          description: "tiny-linux v\(version) for the test pool"
        spec:
          selector:
            pools: [upd]
          version: \(version)
          logoff:
            \(logoff)
          strategy:
            canary: \(canary)
            waveSize: "\(waveSize)"
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

    /// The version in each of the pool's domains' Deskpool metadata, by domain name.
    static func versionsInLibvirt(_ hypervisor: LibvirtHypervisor, prefix: String) async throws -> [String: Int] {
        var versions: [String: Int] = [:]
        for domain in try await hypervisor.observe() where domain.name.hasPrefix(prefix) {
            versions[domain.name] = domain.identity?.version
        }
        return versions
    }

    @Test(
        "6 desktops from v1 to v2, canary 1 then waves of 50%, a user connected with remote-viewer: hers is updated only after logoff, all end on v2",
        .enabled(if: TestTier.viewer.isEnabled, Comment(rawValue: TestTier.viewer.skipReason)))
    func updateWhileConnected() async throws {
        try await Self.withPool(size: 6, extra: [TestTier.tinyImagePath]) { h, hypervisor, prefix in
            guard case .assigned(let hers) = try await h.broker.request(.init(user: "alice"), pool: "upd") else {
                throw GuestConsole.Failure(description: "no desktop for alice")
            }
            let display = try VirtualDisplay()
            defer { display.stop() }
            let viewer = try RemoteViewer(file: try ConsoleQemuTests.write(try await h.consoles.open(desktop: hers.id, for: "alice").file), display: display)
            defer { viewer.stop() }
            try await h.wait(for: "alice connected", timeout: .seconds(120), poll: .seconds(1)) {
                try await h.store.desktop(id: hers.id)?.state == .connected
            }

            let plan = try await h.policies.plan(try PolicyRollouts.parse(Self.policy(version: 2)))
            #expect(plan.waves == 3 && plan.included.count == 6)
            #expect(plan.included.last?.desktop == hers.name && plan.included.last?.impact.contains("alice") == true)
            let rollout = try await h.policies.apply(source: Self.policy(version: 2), actor: "admin:test")
            try await h.wait(for: "five desktops done, alice's waiting", timeout: .seconds(1200), poll: .seconds(2)) {
                let view = try await Self.view(h, rollout.id)
                if view.rollout.state != .running { throw GuestConsole.Failure(description: "rollout \(view.rollout.state): \(view.rollout.reason ?? "")") }
                return view.counts["done"] == 5 && view.counts["waiting"] == 1
            }
            let during = try #require(try await h.store.desktop(id: hers.id))
            #expect(during.state == .connected && during.version == 1 && during.incarnation == hers.incarnation, "alice's session is untouched")
            #expect(viewer.isRunning, "her viewer is still connected")
            #expect(try await Self.versionsInLibvirt(hypervisor, prefix: prefix)[hers.name] == 1)

            viewer.stop()
            _ = try await h.broker.logoff(desktop: hers.id, by: "user:alice")
            try await h.wait(for: "the rollout completes", timeout: .seconds(900), poll: .seconds(2)) {
                try await h.store.rollout(id: rollout.id)?.state == .completed
            }
            let desktops = try await h.store.desktops(pool: "upd")
            #expect(desktops.count == 6 && desktops.allSatisfy { $0.version == 2 && $0.state == .ready })
            let libvirt = try await Self.versionsInLibvirt(hypervisor, prefix: prefix)
            #expect(libvirt.count == 6 && libvirt.values.allSatisfy { $0 == 2 }, "libvirt metadata: \(libvirt)")
            #expect(try await h.store.pool(named: "upd")?.version == .pinned(2))
        }
    }

    @Test("a v3 that does not boot: the canary fails its health gate, the rollout rolls back, bob's session is not disturbed")
    func brokenVersionRollsBack() async throws {
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-broken-\(UUID().uuidString).qcow2").path
        _ = try Command.output("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", broken, "64M"])
        defer { try? FileManager.default.removeItem(atPath: broken) }
        try await Self.withPool(size: 3, extra: [TestTier.tinyImagePath, broken]) { h, hypervisor, prefix in
            guard case .assigned(let bobs) = try await h.broker.request(.init(user: "bob"), pool: "upd") else {
                throw GuestConsole.Failure(description: "no desktop for bob")
            }
            let rollout = try await h.policies.apply(source: Self.policy(version: 3, gate: "60s"), actor: "admin:test")
            try await h.wait(for: "the rollout rolls back", timeout: .seconds(900), poll: .seconds(2)) {
                try await h.store.rollout(id: rollout.id)?.state == .rolledBack
            }
            let view = try await Self.view(h, rollout.id)
            #expect(view.rollout.reason?.contains("failed the health gate") == true, "\(view.rollout.reason ?? "")")
            let canary = try #require(view.items.first { $0.wave == 0 })
            let audit = try await h.store.auditLog(subject: "rollout/\(rollout.id)/\(canary.desktop)", limit: 20).map(\.detail)
            #expect(audit.contains { $0.contains("-> failed") && $0.contains("not healthy on v3") }, "the report says why: \(audit)")
            #expect(canary.status == .rolledBack)
            #expect(view.items.filter { $0.wave > 0 }.allSatisfy { $0.status == .skipped })
            let bob = try #require(try await h.store.desktop(id: bobs.id))
            #expect(bob.user == "bob" && bob.state == .assigned && bob.version == 1 && bob.incarnation == bobs.incarnation && bob.targetVersion == nil)
            try await h.wait(for: "every desktop back on v1 and ready", timeout: .seconds(600), poll: .seconds(2)) {
                try await h.store.desktops(pool: "upd").allSatisfy { $0.version == 1 && ($0.state == .ready || $0.user == "bob") }
            }
            let libvirt = try await Self.versionsInLibvirt(hypervisor, prefix: prefix)
            #expect(libvirt.count == 3 && libvirt.values.allSatisfy { $0 == 1 }, "libvirt metadata: \(libvirt)")
            #expect(try await h.store.pool(named: "upd")?.version == .pinned(1))
        }
    }

    @Test("forceAfter: the warning shows on the guest's console, the logoff comes after the grace period, then the update")
    func forcedLogoff() async throws {
        try await Self.withPool(size: 1, extra: [TestTier.tinyImagePath]) { h, hypervisor, prefix in
            guard case .assigned(let hers) = try await h.broker.request(.init(user: "alice"), pool: "upd") else {
                throw GuestConsole.Failure(description: "no desktop for alice")
            }
            let logoff = "mode: forceAfter\n    after: 30s\n    message: \"UPDATE NOTICE logoff in {minutes} minute\""
            let rollout = try await h.policies.apply(source: Self.policy(version: 2, canary: 0, waveSize: "100%", logoff: logoff), actor: "admin:test")
            let domain = try await hypervisor.connection.domain(named: hers.name)
            try await GuestConsole.waitForScreen(domain, toShow: "UPDATE NOTICE", deadline: .seconds(60))
            let warned = try #require(try await h.store.auditLog(AuditQuery(subject: "desktop/\(hers.name)", action: "rollout.warn", limit: 1)).first)
            #expect(warned.detail == "UPDATE NOTICE logoff in 1 minute")
            #expect(try await h.store.desktop(id: hers.id)?.user == "alice", "still hers during the grace period")
            try await h.wait(for: "the rollout completes", timeout: .seconds(600), poll: .seconds(1)) {
                try await h.store.rollout(id: rollout.id)?.state == .completed
            }
            let refresh = try #require(try await h.store.auditLog(subject: "desktop/\(hers.name)", limit: 50)
                .first { $0.detail.contains("-> refreshing") && $0.actor.hasPrefix("rollout:") })
            #expect(refresh.at.timeIntervalSince(warned.at) >= 30, "logged off after the 30 s grace period, not before")
            let after = try #require(try await h.store.desktop(id: hers.id))
            #expect(after.version == 2 && after.user == nil)
        }
    }
}
