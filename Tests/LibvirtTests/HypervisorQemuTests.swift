import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolTesting
import Foundation
import Libvirt
import Synchronization
import Testing

/// `LibvirtHypervisor` on qemu:///system with real tiny guests (templates/tiny-linux), under
/// TCG here. Serialized and at most two guests at once: TCG guests on 2 cores are slow.
@Suite(
    "LibvirtHypervisor on qemu:///system with tiny guests", .serialized,
    .enabled(if: TestTier.tinyGuest.isEnabled, Comment(rawValue: TestTier.tinyGuest.skipReason)))
struct HypervisorQemuTests {
    static let base = "dp-base-tiny-linux-v1.qcow2"

    @Test("two desktops: base uploaded, clones on it, ready, own names by agent and on screen, a message on screen, destroyed")
    func twoDesktops() async throws {
        try await Self.withHypervisor { hypervisor, sandbox, template in
            let clock = ContinuousClock()
            var started = clock.now
            try await hypervisor.importBaseVolume(named: Self.base, from: .file(TestTier.tinyImagePath))
            let pool = try await sandbox.connection.storagePool(named: hypervisor.storagePool)
            let base = try await pool.volume(named: Self.base)
            try Self.expectSameImage(base.path, as: TestTier.tinyImagePath)
            let mode = try FileManager.default.attributesOfItem(atPath: base.path)[.posixPermissions] as? Int
            #expect(mode == 0o444, "base volumes are read-only")
            print("[timing] base upload (\(base.path)): \(clock.now - started)")

            let events = Self.collect(await hypervisor.events())
            // Names OCR can read exactly: the sandbox's hex token is misread ("a557" as "a55?").
            let names = Self.ocrFriendlyPrefix()
            try await Self.removingDomains(prefix: names, on: sandbox.connection) {
                let desktops = ["a", "b"].map { HypervisorConformance.desktop(names + $0, template: template) }
                started = clock.now
                for desktop in desktops {
                    try await hypervisor.createDesktop(desktop, base: Self.base, template: template)
                    try await hypervisor.startDesktop(named: desktop.name)
                }
                for desktop in desktops {
                    let took = try await HypervisorConformance.waitUntilReady(hypervisor, name: desktop.name, deadline: .seconds(180))
                    print("[timing] \(desktop.name) ready after waiting \(took) more (\(clock.now - started) since the first create)")
                }
                for desktop in desktops {
                    let clone = try await pool.volume(named: desktop.volumeName)
                    #expect(try QemuImage.info(clone.path).backingFile == base.path)
                    #expect(try QemuImage.info(clone.path).format == "qcow2")
                    let domain = try await sandbox.connection.domain(named: desktop.name)
                    #expect(try await GuestConsole.exec(domain, path: "/bin/cat", arguments: ["/run/deskpool-name"]) == desktop.name + "\n")
                    started = clock.now
                    try await GuestConsole.waitForName(domain, desktop.name)
                    print("[timing] \(desktop.name) console OCR: \(clock.now - started)")
                }
                let observed = try await hypervisor.observe().filter { $0.name.hasPrefix(names) }
                #expect(Set(observed.compactMap(\.identity)) == Set(desktops))
                #expect(observed.allSatisfy { $0.run == .running })

                // A warning to the user: the text reaches the console through the agent.
                // Letters only: OCR confuses digits (78 read as 28) far more than words.
                let word = ["kestrel", "harbour", "meadow", "lantern", "violet", "copper"].randomElement()!
                let message = "Deskpool notice: session ends soon \(word)"
                started = clock.now
                try await hypervisor.showMessage(message, onDesktop: desktops[0].name)
                try await GuestConsole.waitForScreen(try await sandbox.connection.domain(named: desktops[0].name), toShow: message)
                print("[timing] message shown and read by OCR: \(clock.now - started)")

                try await withTimeout(.seconds(60), "agent connected events of both desktops") {
                    while Set(events.all.filter { $0.kind == .agentConnected }.map(\.domain)) != Set(desktops.map(\.name)) {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                #expect(events.all.allSatisfy { $0.host == "local" })

                try await HypervisorConformance.createIsIdempotent(hypervisor, desktop: desktops[0], base: Self.base, template: template)
                try await HypervisorConformance.listsClone(hypervisor, desktop: desktops[1], base: Self.base)
                started = clock.now
                for desktop in desktops { try await HypervisorConformance.destroyRemovesEverything(hypervisor, desktop: desktop) }
                print("[timing] both destroyed: \(clock.now - started)")
                try await hypervisor.deleteVolume(named: Self.base)
                #expect(try await hypervisor.deskpoolVolumes() == [])
            }
        }
    }

    @Test("a desktop on a non-bootable base runs but never becomes ready")
    func nonBootable() async throws {
        try await Self.withHypervisor { hypervisor, sandbox, template in
            let image = sandbox.directory + "-zero.qcow2"
            _ = try Command.output("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", image, "1M"])
            defer { try? FileManager.default.removeItem(atPath: image) }
            try await hypervisor.importBaseVolume(named: "dp-base-zero-v1.qcow2", from: .file(image))
            let desktop = HypervisorConformance.desktop(sandbox.name("zero"), template: template)
            try await hypervisor.createDesktop(desktop, base: "dp-base-zero-v1.qcow2", template: template)
            try await hypervisor.startDesktop(named: desktop.name)
            // Longer than a tiny guest needs to answer (~8 s), far shorter than a boot timeout.
            let deadline = ContinuousClock.now + .seconds(20)
            var probes: [GuestProbe] = []
            while ContinuousClock.now < deadline {
                probes.append(try await hypervisor.probe(named: desktop.name))
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(!probes.isEmpty && probes.allSatisfy { $0 == .booting }, "\(Set(probes))")
            #expect(try await hypervisor.observe().first { $0.name == desktop.name }?.run == .running)
            try await HypervisorConformance.destroyRemovesEverything(hypervisor, desktop: desktop)
        }
    }

    @Test(
        "type kvm on a host whose KVM cannot run Linux guests: the guest stops on an internal error and probes broken",
        .enabled(if: Self.kvmIsBrokenHere, "SKIPPED: needs /dev/kvm that cannot run Linux guests (kvm_pvm); here KVM is absent or usable"))
    func kvmInternalError() async throws {
        try await Self.withHypervisor { tcg, sandbox, template in
            let hypervisor = LibvirtHypervisor(host: "local", connection: sandbox.connection, storagePool: tcg.storagePool, domainType: "kvm")
            try await hypervisor.importBaseVolume(named: Self.base, from: .file(TestTier.tinyImagePath))
            let events = Self.collect(await hypervisor.events())
            let desktop = HypervisorConformance.desktop(sandbox.name("kvm"), template: template)
            try await hypervisor.createDesktop(desktop, base: Self.base, template: template)
            try await hypervisor.startDesktop(named: desktop.name)
            let reason = try await withTimeout(.seconds(120), "the KVM guest to probe broken") { () -> String in
                while true {
                    if case .broken(let reason) = try await hypervisor.probe(named: desktop.name) { return reason }
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            let state = try await sandbox.connection.domain(named: desktop.name).state()
            print("[kvm] internal error shows as state \(state), probe .broken(\"\(reason)\"), events \(events.all)")
            #expect(reason.contains("paused"))
            #expect(reason.contains("internal error"))
            #expect(try await hypervisor.observe().first { $0.name == desktop.name }?.run == .broken(reason))
            try await HypervisorConformance.destroyRemovesEverything(hypervisor, desktop: desktop)
        }
    }
}
