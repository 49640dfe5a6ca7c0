import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolTesting
import Foundation
import Libvirt
import Synchronization
import Testing

/// `LibvirtHypervisor` on the test driver with the node file's dir pool: the conformance
/// checks and the libvirt-specific parts (imports, metadata, states, events), no daemon.
/// Each test opens the node file afresh: the test driver gives every such connection its own
/// state.
@Suite("LibvirtHypervisor on the test driver")
struct HypervisorTestDriverTests {
    static let base = "dp-base-tiny-linux-v1.qcow2"

    /// A hypervisor on a fresh test driver node, with a base volume copied from the node's
    /// golden image.
    static func withHypervisor(_ body: (LibvirtHypervisor, TemplateDefinition) async throws -> Void) async throws {
        let connection = try await Connection.open("test://\(TestDriverStorageTests.nodeFile)")
        let hypervisor = LibvirtHypervisor(host: "test-host", connection: connection, storagePool: "images", domainType: "test")
        let template = try TemplateDefinition.load(directory: DesktopDomainXMLTests.templatesDirectory + "/tiny-linux")
        do {
            try await hypervisor.importBaseVolume(named: base, from: .volume("golden-1.qcow2"))
            try await body(hypervisor, template)
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    }

    @Test("conformance: create, start, ready, idempotent, listed, destroyed; missing base; foreign domain")
    func conformance() async throws {
        try await Self.withHypervisor { hypervisor, template in
            let desktop = HypervisorConformance.desktop("eng-001", template: template)
            try await HypervisorConformance.createStartReady(hypervisor, desktop: desktop, base: Self.base, template: template, deadline: .seconds(10))
            try await HypervisorConformance.createIsIdempotent(hypervisor, desktop: desktop, base: Self.base, template: template)
            try await HypervisorConformance.listsClone(hypervisor, desktop: desktop, base: Self.base)
            try await HypervisorConformance.reconfigureShowsInFacts(hypervisor, desktop: desktop, hardware: DesktopHardware(template: template))
            try await HypervisorConformance.saveAndResume(hypervisor, desktop: desktop, deadline: .seconds(10))
            try await HypervisorConformance.destroyRemovesEverything(hypervisor, desktop: desktop)
            try await HypervisorConformance.seedGoesWithTheDesktop(hypervisor, desktop: HypervisorConformance.desktop("eng-003", template: template),
                                                                  base: Self.base, template: template)
            try await HypervisorConformance.missingDesktopIsNotFound(hypervisor, template: template)
            try await HypervisorConformance.missingBaseFails(hypervisor, desktop: HypervisorConformance.desktop("eng-002", template: template), template: template)
            _ = try await hypervisor.connection.defineDomain(xml: TestDomainXML.spiceDomain(name: "not-deskpools", type: "test", diskPath: "/x.qcow2"))
            try await HypervisorConformance.foreignDomainHasNoIdentity(hypervisor, domainName: "not-deskpools")
        }
    }

    @Test("the clone is a qcow2 on the base, and the domain carries the rendered XML")
    func cloneAndDomain() async throws {
        try await Self.withHypervisor { hypervisor, template in
            let desktop = HypervisorConformance.desktop("eng-001", template: template)
            try await hypervisor.createDesktop(desktop, base: Self.base, template: template)
            let pool = try await hypervisor.connection.storagePool(named: "images")
            let clone = try await pool.volume(named: desktop.volumeName)
            let base = try await pool.volume(named: Self.base)
            #expect(try LibvirtXML.values("/volume/backingStore/path", in: try await clone.xml()) == [base.path])
            #expect(try await clone.info().capacityBytes == base.info().capacityBytes)
            let xml = try await hypervisor.connection.domain(named: "eng-001").xml(.inactive)
            #expect(try LibvirtXML.values("/domain/devices/disk/source/@file", in: xml) == [clone.path])
            #expect(try LibvirtXML.values("/domain/sysinfo/system/entry[@name='product']", in: xml) == ["eng-001"])
            #expect(DesktopDomainXML.identity(fromDomainXML: xml) == desktop)

            // A leftover volume of the same name (a crash after cloning) is replaced.
            try await hypervisor.destroyDesktop(named: "eng-001", volume: "none.qcow2")
            #expect(try await hypervisor.volumeExists(named: desktop.volumeName))
            try await hypervisor.createDesktop(desktop, base: Self.base, template: template)
            #expect(try await hypervisor.observe().first { $0.name == "eng-001" }?.identity == desktop)
        }
    }

    @Test("imports: copy of a volume, of a domain's disk; missing sources and taken names")
    func imports() async throws {
        try await Self.withHypervisor { hypervisor, template in
            #expect(try await hypervisor.volumeExists(named: Self.base))
            let pool = try await hypervisor.connection.storagePool(named: "images")
            #expect(try await pool.volume(named: Self.base).info().capacityBytes == 1_073_741_824)

            let golden = try await pool.volume(named: "golden-1.qcow2")
            _ = try await hypervisor.connection.defineDomain(xml: TestDomainXML.spiceDomain(name: "golden-vm", type: "test", diskPath: golden.path))
            try await hypervisor.importBaseVolume(named: "dp-base-tiny-linux-v2.qcow2", from: .domainDisk("golden-vm"))
            #expect(try await hypervisor.deskpoolVolumes() == ["dp-base-tiny-linux-v1.qcow2", "dp-base-tiny-linux-v2.qcow2"])

            let cases: [(ImageSource, String, DeskpoolError.Code)] = [
                (.volume("golden-1.qcow2"), Self.base, .alreadyExists),
                (.volume("no-such.qcow2"), "dp-base-x-v1.qcow2", .notFound),
                (.domainDisk("no-such-vm"), "dp-base-x-v1.qcow2", .notFound),
                (.file("/nonexistent/image.qcow2"), "dp-base-x-v1.qcow2", .notFound),
            ]
            for (source, name, code) in cases {
                let error = await #expect(throws: DeskpoolError.self) { try await hypervisor.importBaseVolume(named: name, from: source) }
                #expect(error?.code == code, "\(source)")
            }
            try await hypervisor.deleteVolume(named: "dp-base-tiny-linux-v2.qcow2")
            try await hypervisor.deleteVolume(named: "dp-base-tiny-linux-v2.qcow2")  // missing: fine
            #expect(try await hypervisor.deskpoolVolumes() == [Self.base])
        }
    }

    @Test("probe and observe report stopped domains as broken/stopped; agent-less start is ready; capacity")
    func statesAndCapacity() async throws {
        try await Self.withHypervisor { hypervisor, template in
            let desktop = HypervisorConformance.desktop("eng-001", template: template)
            try await hypervisor.createDesktop(desktop, base: Self.base, template: template)
            #expect(try await hypervisor.probe(named: "eng-001") == .broken("stopped: not started"))
            #expect(try await hypervisor.observe().first { $0.name == "eng-001" }?.run == .stopped)
            try await hypervisor.startDesktop(named: "eng-001")
            #expect(try await hypervisor.probe(named: "eng-001") == .ready)
            try await hypervisor.connection.domain(named: "eng-001").destroy()
            #expect(try await hypervisor.probe(named: "eng-001") == .broken("stopped: destroyed"))
            #expect(try await hypervisor.probe(named: "nobody") == .broken("domain is missing"))

            // No guest agent on the test driver: the message cannot be shown, and says why.
            try await hypervisor.startDesktop(named: "eng-001")
            let error = await #expect(throws: DeskpoolError.self) { try await hypervisor.showMessage("hello", onDesktop: "eng-001") }
            #expect(error?.code == .hypervisorFailed)
            #expect(error?.message == "showing a message on desktop eng-001 on test-host: no guest agent support on this host")
            let command = await #expect(throws: DeskpoolError.self) {
                _ = try await hypervisor.runGuestCommand(GuestCommand(path: "/bin/true"), timeout: .seconds(5), onDesktop: "eng-001")
            }
            #expect(command?.message == "running /bin/true on desktop eng-001 on test-host: no guest agent support on this host")

            let capacity = try await hypervisor.capacity()
            #expect(capacity.freeMemoryMiB == 16384, "the node file has no NUMA cells: free memory falls back to the host's memory (16 GiB)")
            #expect(capacity.freeDiskMiB == Int(106_300_440_576 >> 20))
        }
    }

    @Test("facts of the rendered definition, live and persistent; a pool's hardware; live memory within the maximum")
    func factsAndLiveMemory() async throws {
        try await Self.withHypervisor { hypervisor, template in
            let desktop = HypervisorConformance.desktop("eng-001", template: template)
            let hardware = DesktopHardware(vcpus: 2, memoryMiB: 512, monitors: 2, audio: true, usbRedirection: true)
            try await hypervisor.createDesktop(desktop, base: Self.base, template: template, hardware: hardware)
            let stopped = try await hypervisor.facts(ofDesktop: "eng-001")
            #expect(stopped.identity == desktop)
            #expect(stopped.live == nil)
            #expect(stopped.persistent.hardware == hardware)
            #expect(stopped.persistent.channels == ["org.qemu.guest_agent.0", "com.redhat.spice.0"])
            let clone = try await hypervisor.connection.storagePool(named: "images").volume(named: desktop.volumeName)
            #expect(stopped.persistent.disks == [clone.path])
            #expect(stopped.persistent.console == ConsoleFacts(passwordSet: true, passwordValidTo: nil, tlsRequired: false, listenAddress: "127.0.0.1"))

            try await hypervisor.startDesktop(named: "eng-001")
            let running = try await hypervisor.facts(ofDesktop: "eng-001")
            #expect(running.live?.hardware == hardware)
            #expect(running.current == running.live)

            let above = await #expect(throws: DeskpoolError.self) { try await hypervisor.setLiveMemory(1024, onDesktop: "eng-001") }
            #expect(above?.code == .invalidInput)
            #expect(above?.message.contains("above the live maximum of 512 MiB") == true)
            try await hypervisor.setLiveMemory(384, onDesktop: "eng-001")
            let ballooned = try await hypervisor.facts(ofDesktop: "eng-001")
            #expect(ballooned.live?.memoryMiB == 384, "the test driver sets the live memory at once")
            #expect(ballooned.persistent.memoryMiB == 512)
            let missing = await #expect(throws: DeskpoolError.self) { try await hypervisor.setLiveMemory(256, onDesktop: "nobody") }
            #expect(missing?.code == .notFound)

            // Many at once (a plan's read): the same facts as one by one; a missing desktop is left out.
            try await hypervisor.createDesktop(HypervisorConformance.desktop("eng-002", template: template), base: Self.base, template: template)
            let many = await hypervisor.facts(ofDesktops: ["eng-001", "eng-002", "nobody"])
            #expect(Set(many.keys) == ["eng-001", "eng-002"])
            #expect(many["eng-001"] == (try await hypervisor.facts(ofDesktop: "eng-001")))
            #expect(many["eng-002"] == (try await hypervisor.facts(ofDesktop: "eng-002")))
        }
    }

    @Test("events: started and stopped of Deskpool's domains, none of foreign ones; the stream ends when the connection closes")
    func events() async throws {
        try await Self.withHypervisor { hypervisor, template in
            let desktop = HypervisorConformance.desktop("eng-001", template: template)
            try await hypervisor.createDesktop(desktop, base: Self.base, template: template)
            let foreign = try await hypervisor.connection.defineDomain(xml: TestDomainXML.spiceDomain(name: "foreign", type: "test", diskPath: "/x"))
            let seen = HypervisorQemuTests.collect(await hypervisor.events())
            func saw(_ kind: HypervisorEvent.Kind) -> Bool { seen.contains("eng-001", kind) }

            // events() subscribes in the background: start and stop both domains until the
            // subscription is in place, then wait for the last stop to arrive.
            let domain = try await hypervisor.connection.domain(named: "eng-001")
            let deadline = ContinuousClock.now + .seconds(30)
            while !saw(.started), ContinuousClock.now < deadline {
                try await foreign.start()
                try await foreign.destroy()
                try await hypervisor.startDesktop(named: "eng-001")
                try await domain.destroy()
                try await Task.sleep(for: .milliseconds(20))
            }
            while !saw(.stopped("destroyed")), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(saw(.started))
            #expect(saw(.stopped("destroyed")))
            #expect(seen.all.allSatisfy { $0.domain == "eng-001" && $0.host == "test-host" }, "\(seen.all)")

            await hypervisor.link.close()
            try await withTimeout(.seconds(10), "the event stream to end when the link is closed") { await seen.task?.value }
        }
    }
}
