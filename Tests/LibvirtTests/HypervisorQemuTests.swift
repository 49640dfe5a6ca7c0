import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolTesting
import DeskpoolTestRigs
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
            let attributes = try FileManager.default.attributesOfItem(atPath: base.path)
            #expect(attributes[.posixPermissions] as? Int == 0o440, "base volumes are read-only, and not world-readable")
            #expect(attributes[.groupOwnerAccountName] as? String == "libvirt-qemu", "readable by the group qemu runs as")
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
                // Clones boot from it (above), and while they run the base is still not world-readable.
                let running = try FileManager.default.attributesOfItem(atPath: base.path)
                #expect((running[.posixPermissions] as? Int ?? 0o777) & 0o007 == 0, "running: \(running[.posixPermissions] ?? "?")")
                print("[base volume while clones run] mode \(String(running[.posixPermissions] as? Int ?? 0, radix: 8)) \(running[.ownerAccountName] ?? "?"):\(running[.groupOwnerAccountName] ?? "?")")
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

    @Test("one desktop for bulk policies: facts, reconfigure (persistent only), live memory by balloon, guest commands, a hung agent fails fast")
    func policyPrimitives() async throws {
        try await Self.withHypervisor { hypervisor, sandbox, template in
            try await hypervisor.importBaseVolume(named: Self.base, from: .file(TestTier.tinyImagePath))
            let desktop = HypervisorConformance.desktop(sandbox.name("policy"), template: template)
            let hardware = DesktopHardware(template: template)
            try await hypervisor.createDesktop(desktop, base: Self.base, template: template, hardware: hardware)
            try await hypervisor.startDesktop(named: desktop.name)
            let clock = ContinuousClock()

            // Just started: the agent is not connected yet (a TCG boot takes 5-40 s), and a
            // command fails at once instead of waiting for it.
            var started = clock.now
            let early = await #expect(throws: DeskpoolError.self) {
                _ = try await hypervisor.runGuestCommand(GuestCommand(path: "/bin/true"), timeout: .seconds(30), onDesktop: desktop.name)
            }
            print("[agent] before boot: \(String(describing: early)) after \(clock.now - started)")
            #expect(early?.message.contains("the guest agent does not answer") == true)
            #expect(clock.now - started < .seconds(8))

            try await HypervisorConformance.waitUntilReady(hypervisor, name: desktop.name, deadline: .seconds(240))
            let before = try await hypervisor.facts(ofDesktop: desktop.name)
            #expect(before.identity == desktop)
            #expect(before.persistent.hardware == hardware)
            let live = try #require(before.live)
            #expect(live.hardware == hardware)
            #expect(live.memoryMiB == 256 && live.maxMemoryMiB == 256)
            #expect(live.channels.contains("org.qemu.guest_agent.0"))
            #expect(live.console?.passwordSet == true)
            #expect(live.console?.listenAddress == "127.0.0.1")
            #expect(live.console?.tlsRequired == false)

            // Reconfigure: the persistent definition changes, the running guest does not.
            let bigger = DesktopHardware(vcpus: 2, memoryMiB: 384, monitors: 2, audio: true, clipboard: false,
                                         streaming: .all, compression: .quic, usbRedirection: true, smartcard: true)
            var next = desktop
            next.generation += 1
            try await hypervisor.reconfigure(desktop.name, hardware: bigger, identity: next)
            let after = try await hypervisor.facts(ofDesktop: desktop.name)
            #expect(after.identity == next)
            #expect(after.persistent.hardware == bigger)
            #expect(after.persistent.memoryMiB == 384 && after.persistent.vcpus == 2)
            #expect(after.live?.hardware == hardware, "the live definition changes at the next start")
            #expect(after.persistent.console?.passwordSet == true)
            #expect(try await hypervisor.observe().first { $0.name == desktop.name }?.identity == next)
            #expect(try await hypervisor.probe(named: desktop.name) == .ready, "the guest was not disturbed")

            // Live memory: the balloon driver (virtio_balloon in the image) gives memory back
            // and libvirt's live currentMemory follows the guest's balloon event.
            let above = await #expect(throws: DeskpoolError.self) { try await hypervisor.setLiveMemory(300, onDesktop: desktop.name) }
            #expect(above?.code == .invalidInput)
            let memTotal = GuestCommand(path: "/bin/sh", arguments: ["-c", "sed -n 's/^MemTotal: *\\([0-9]*\\) kB$/\\1/p' /proc/meminfo"])
            let totalBefore = try #require(Int(try await hypervisor.runGuestCommand(memTotal, timeout: .seconds(30), onDesktop: desktop.name)
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "the guest's MemTotal")
            started = clock.now
            try await hypervisor.setLiveMemory(192, onDesktop: desktop.name)
            let ballooned = try await withTimeout(.seconds(60), "the live memory to reach 192 MiB") { () -> DesktopFacts in
                while true {
                    let facts = try await hypervisor.facts(ofDesktop: desktop.name)
                    if facts.live?.memoryMiB == 192 { return facts }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            print("[balloon] live memory 256 -> 192 MiB after \(clock.now - started)")
            #expect(ballooned.live?.maxMemoryMiB == 256)
            #expect(ballooned.persistent.memoryMiB == 384, "the persistent definition is not touched")
            // The guest sees it: the balloon took 64 MiB from its total (the kernel keeps its own
            // reserve below the 192 MiB, so the total is under it).
            let totalAfter = try #require(Int(try await hypervisor.runGuestCommand(memTotal, timeout: .seconds(30), onDesktop: desktop.name)
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "the guest's MemTotal")
            print("[balloon] guest MemTotal \(totalBefore) -> \(totalAfter) kB")
            #expect(totalAfter <= 192 * 1024 && totalBefore - totalAfter >= 60 * 1024,
                    "the guest's MemTotal fell by the 64 MiB the balloon took: \(totalBefore) -> \(totalAfter) kB")

            // Guest commands: exit code, both outputs, standard input, a cut, a timeout.
            started = clock.now
            let result = try await hypervisor.runGuestCommand(
                GuestCommand(path: "/bin/sh", arguments: ["-c", "echo hello; echo err >&2; exit 3"]), timeout: .seconds(30), onDesktop: desktop.name)
            print("[agent] a short command: \(clock.now - started)")
            #expect(result == GuestCommandResult(exitCode: 3, stdout: "hello\n", stderr: "err\n"))
            let input = "line one\n'quotes' & $(not run)\n"
            let cat = try await hypervisor.runGuestCommand(GuestCommand(path: "/bin/cat", input: input), timeout: .seconds(30), onDesktop: desktop.name)
            #expect(cat == GuestCommandResult(exitCode: 0, stdout: input, stderr: ""))
            let big = try await hypervisor.runGuestCommand(
                GuestCommand(path: "/bin/sh", arguments: ["-c", "head -c 70000 /dev/zero | tr '\\0' a"]), timeout: .seconds(30), onDesktop: desktop.name)
            #expect(big.truncated && big.exitCode == 0)
            #expect(big.stdout == String(repeating: "a", count: GuestCommandResult.outputLimit))
            started = clock.now
            let slow = await #expect(throws: DeskpoolError.self) {
                _ = try await hypervisor.runGuestCommand(GuestCommand(path: "/bin/sleep", arguments: ["20"]), timeout: .seconds(2), onDesktop: desktop.name)
            }
            #expect(slow?.message.hasSuffix("/bin/sleep did not finish within 2 s") == true)
            #expect(clock.now - started < .seconds(6))

            // A hung agent (stopped by a signal: it cannot answer, and is not restarted):
            // commands fail within seconds and say why.
            // (qemu-ga writes no pid file unless it daemonizes: find it by name.)
            do {
                let stop = try await hypervisor.runGuestCommand(
                    GuestCommand(path: "/bin/sh", arguments: ["-c", "sleep 0.2; kill -STOP $(pidof qemu-ga)"]), timeout: .seconds(10), onDesktop: desktop.name)
                print("[agent] stopping the agent answered: \(stop)")
            } catch {
                print("[agent] stopping the agent: \(error)")  // expected: it stops before it answers
            }
            started = clock.now
            let hung = await #expect(throws: DeskpoolError.self) {
                _ = try await hypervisor.runGuestCommand(GuestCommand(path: "/bin/true"), timeout: .seconds(30), onDesktop: desktop.name)
            }
            print("[agent] hung: \(String(describing: hung)) after \(clock.now - started)")
            #expect(hung?.message.contains("the guest agent does not answer") == true)
            #expect(clock.now - started < .seconds(10))
            let message = await #expect(throws: DeskpoolError.self) { try await hypervisor.showMessage("hello", onDesktop: desktop.name) }
            #expect(message?.message.contains("the guest agent does not answer") == true)

            try await HypervisorConformance.destroyRemovesEverything(hypervisor, desktop: desktop)
            try await hypervisor.deleteVolume(named: Self.base)
        }
    }

    @Test("a guest kernel panic is reported at once through pvpanic: the crash event, the domain stopped, the probe broken")
    func kernelPanic() async throws {
        try await Self.withHypervisor { hypervisor, sandbox, template in
            try await hypervisor.importBaseVolume(named: Self.base, from: .file(TestTier.tinyImagePath))
            let desktop = HypervisorConformance.desktop(sandbox.name("panic"), template: template)
            try await hypervisor.createDesktop(desktop, base: Self.base, template: template)
            let facts = try await hypervisor.connection.domain(named: desktop.name).xml(.inactive)
            #expect(facts.contains("<panic model='isa'"), "desktops get a pvpanic device")
            #expect(facts.contains("<on_crash>destroy</on_crash>"))
            let events = Self.collect(await hypervisor.events())
            try await hypervisor.startDesktop(named: desktop.name)
            try await withTimeout(.seconds(300), "the guest to boot") {
                while try await hypervisor.probe(named: desktop.name) != .ready { try await Task.sleep(for: .seconds(1)) }
            }
            #expect(try await hypervisor.consoleClients(ofDesktop: desktop.name) == [], "query-spice: no client yet")
            // A client of the browser display (VNC) counts too: a bare TCP connection is one
            // for qemu until it closes.
            let browserPort = try #require(try await hypervisor.consoleEndpoint(ofDesktop: desktop.name).browserPort)
            let socket = try Self.connectLoopback(port: browserPort)
            let browserClients = try await hypervisor.consoleClients(ofDesktop: desktop.name)
            close(socket)
            #expect(browserClients.count == 1 && browserClients.allSatisfy { $0.hasPrefix("127.0.0.1:") }, "query-vnc-servers: \(browserClients)")
            try await withTimeout(.seconds(10), "the browser display's client to leave") {
                while try await !hypervisor.consoleClients(ofDesktop: desktop.name).isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            }
            // The kernel panics at once; the command never answers.
            let crash = Task {
                try? await hypervisor.runGuestCommand(GuestCommand(path: "/bin/sh", arguments: ["-c", "echo c > /proc/sysrq-trigger"]),
                                                      timeout: .seconds(20), onDesktop: desktop.name)
            }
            defer { crash.cancel() }
            let clock = ContinuousClock()
            let triggered = clock.now
            try await withTimeout(.seconds(60), "libvirt to report the panic") {
                while !events.all.contains(where: { $0.domain == desktop.name && $0.kind == .broken("crashed: guest panicked") }) {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            print("[panic] reported \(clock.now - triggered) after the trigger")
            guard case .broken(let reason) = try await hypervisor.probe(named: desktop.name) else {
                Issue.record("the probe does not say the guest is broken")
                return
            }
            #expect(reason.contains("crashed"), "\(reason)")
            let observed = try await hypervisor.observe().first { $0.name == desktop.name }
            #expect(observed?.run == .broken("stopped: crashed"), "observed: \(String(describing: observed))")
            try await hypervisor.destroyDesktop(named: desktop.name, volume: desktop.volumeName)
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

    struct SocketFailure: Error { var message: String }

    /// A TCP connection to 127.0.0.1:`port` (its descriptor; `close` it).
    static func connectLoopback(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SocketFailure(message: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw SocketFailure(message: "connect to 127.0.0.1:\(port): errno \(errno)")
        }
        return descriptor
    }
}
