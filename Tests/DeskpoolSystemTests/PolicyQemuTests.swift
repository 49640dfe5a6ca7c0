import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Testing

/// ConfigPolicy, GuestCommandPolicy and CheckPolicy on real parts: three tiny guests on
/// qemu:///system (TCG here), one pool for the three flows, each checked in libvirt itself.
@Suite(
    "Config, command and check policies on qemu:///system", .serialized,
    .enabled(if: TestTier.tinyGuest.isEnabled, Comment(rawValue: TestTier.tinyGuest.skipReason)))
struct PolicyQemuTests {
    static func header(_ kind: String, _ name: String) -> String {
        "apiVersion: deskpool/v1\nkind: \(kind)\nmetadata:\n  name: \(name)\nspec:\n  selector:\n    pools: [upd]\n"
    }

    static func finished(_ h: BrokerHarness, _ id: String, timeout: Duration = .seconds(600)) async throws -> RolloutView {
        try await h.wait(for: "rollout \(id) to finish", timeout: timeout, poll: .seconds(1)) { try await h.store.rollout(id: id)?.state.isFinal == true }
        return try await RolloutQemuTests.view(h, id)
    }

    @Test("memory changes live on running desktops and vCPUs at the next restart (as planned); a command runs in every guest; a check finds a desktop changed outside Deskpool and the remediation fixes it")
    func configCommandAndCheck() async throws {
        try await RolloutQemuTests.withPool(size: 3, extra: []) { h, hypervisor, prefix in
            guard case .assigned(let hers) = try await h.broker.request(.init(user: "alice"), pool: "upd") else {
                throw GuestConsole.Failure(description: "no desktop for alice")
            }
            // ConfigPolicy: 256 -> 192 MiB (within the running maximum: live), 1 -> 2 vCPUs (restart).
            let config = Self.header("ConfigPolicy", "upd-hw") + "  set:\n    desktop:\n      memoryMiB: 192\n      vcpus: 2\n"
            let plan = try await h.policies.plan(try PolicyRollouts.parse(config))
            #expect(plan.included.count == 3)
            for change in plan.included {
                #expect(change.changes == ["memoryMiB 256 -> 192 (live)", "vcpus 1 -> 2 (at next restart)"], "\(change.desktop): \(change.changes)")
            }
            let rollout = try await h.policies.apply(source: config, actor: "admin:test")
            try await h.wait(for: "the idle desktops restarted, alice's waiting", timeout: .seconds(900), poll: .seconds(2)) {
                let view = try await RolloutQemuTests.view(h, rollout.id)
                return view.counts["done"] == 2 && view.counts["waiting"] == 1
            }
            // The balloon gives the memory back at the guest's pace (seconds under TCG on a busy machine).
            try await h.wait(for: "her running guest at 192 MiB", timeout: .seconds(120), poll: .seconds(1)) {
                try await hypervisor.facts(ofDesktop: hers.name).live?.memoryMiB == 192
            }
            let facts = try await hypervisor.facts(ofDesktop: hers.name)
            #expect(facts.live?.memoryMiB == 192, "memory changed live: \(String(describing: facts.live?.memoryMiB))")
            #expect(facts.live?.vcpus == 1 && facts.persistent.vcpus == 2, "vCPUs wait for the next restart")
            let herDomain = try await hypervisor.connection.domain(named: hers.name)
            #expect(try await GuestConsole.exec(herDomain, path: "/bin/sh", arguments: ["-c", "grep -c ^processor /proc/cpuinfo"]) == "1\n",
                    "her guest still has one CPU")
            for desktop in try await h.store.desktops(pool: "upd") where desktop.id != hers.id {
                let domain = try await hypervisor.connection.domain(named: desktop.name)
                #expect(try await GuestConsole.exec(domain, path: "/bin/sh", arguments: ["-c", "grep -c ^processor /proc/cpuinfo"]) == "2\n",
                        "\(desktop.name) restarted with two CPUs")
            }
            _ = try await h.broker.logoff(desktop: hers.id, by: "user:alice")
            #expect(try await Self.finished(h, rollout.id, timeout: .seconds(900)).rollout.state == .completed)

            // GuestCommandPolicy: every guest answers but one, whose agent is frozen (SIGSTOP:
            // its port stays open and nothing answers, the worst case for a caller).
            let desktops = try await h.store.desktops(pool: "upd").filter { $0.state == .ready }
            let mute = try #require(desktops.first)
            let muteDomain = try await hypervisor.connection.domain(named: mute.name)
            _ = try? await GuestConsole.exec(muteDomain, path: "/bin/sh", arguments: ["-c", "(sleep 2; kill -STOP $(pidof qemu-ga)) >/dev/null 2>&1 &"])
            try await h.wait(for: "\(mute.name)'s agent frozen", timeout: .seconds(60), poll: .milliseconds(500)) {
                try await hypervisor.probe(named: mute.name) != .ready
            }
            let command = Self.header("GuestCommandPolicy", "upd-name") + "  script: |\n    cat /run/deskpool-name\n    echo done\n  timeout: 30s\n"
            let started = ContinuousClock.now
            let ran = try await Self.finished(h, try await h.policies.apply(source: command, actor: "admin:test").id)
            #expect(ContinuousClock.now - started < .seconds(120), "a desktop without an agent must not hang the run")
            for item in ran.items {
                if item.desktop == mute.name {
                    #expect(item.status == .failed, "\(item.desktop): \(item.detail ?? "")")
                } else {
                    #expect(item.status == .done && item.result?.stdout == "\(item.desktop)\ndone\n", "\(item.desktop): \(String(describing: item.result))")
                }
            }

            // CheckPolicy: a usbredir device added to one definition outside Deskpool.
            let altered = try #require(desktops.last)
            let domain = try await hypervisor.connection.domain(named: altered.name)
            let xml = try await domain.xml([.inactive])
            let changed = xml.replacingOccurrences(of: "</devices>", with: "<redirdev bus='usb' type='spicevmc'/></devices>")
            _ = try await hypervisor.connection.defineDomain(xml: changed)
            let check = Self.header("CheckPolicy", "upd-baseline") + """
                  checks:
                    - forbiddenDevices: [usbredir, smartcard]
                    - configuration: true
                    - templateVersion: {within: 0}
                    - noUnexpectedDisks: true
                    - consolePassword: {maxValidity: 5m}
                    - guestAgent: true
                  remediation: {configPolicy: upd-hw}

                """
            let report = try await Self.finished(h, try await h.policies.apply(source: check, actor: "admin:test").id)
            for item in report.items {
                if item.desktop == altered.name {
                    let usb = item.checks?.first { $0.check == "forbiddenDevices" }
                    #expect(item.status == .failed && usb?.passed == false && usb?.evidence.contains("USB redirection") == true, "\(item.detail ?? "")")
                } else if item.desktop == mute.name {
                    // Its agent is frozen: that check fails with the reason, every other passes.
                    let agent = item.checks?.first { $0.check == "guestAgent" }
                    #expect(item.status == .failed && agent?.passed == false && agent?.evidence.contains("does not answer") == true,
                            "\(item.desktop): \(item.detail ?? "")")
                    #expect(item.checks?.filter { $0.check != "guestAgent" }.allSatisfy(\.passed) == true, "\(item.desktop): \(item.detail ?? "")")
                } else {
                    #expect(item.status == .done, "\(item.desktop): \(item.detail ?? "")")
                }
            }
            #expect(report.rollout.reason?.contains("applied again as rollout") == true, "\(report.rollout.reason ?? "")")
            let remediation = try #require(try await h.store.rollouts(active: false, limit: 10).first { $0.policy == "upd-hw" && $0.id != rollout.id })
            let fixed = try await Self.finished(h, remediation.id, timeout: .seconds(900))
            #expect(fixed.items.map(\.desktop) == [altered.name], "only the drifted desktop is changed: \(fixed.items.map(\.desktop))")
            let after = try await hypervisor.facts(ofDesktop: altered.name)
            #expect(!after.persistent.hardware.usbRedirection && after.live?.hardware.usbRedirection == false, "the usbredir device is gone")
            _ = prefix
        }
    }
}
