import DeskpoolCore
import DeskpoolTesting
import Foundation
import Testing

/// The fake hypervisor passes the conformance checks the libvirt one passes, and its test
/// controls (scripted guest commands, silent agents, drift) do what broker tests rely on.
@Suite("Fake hypervisor")
struct FakeHypervisorTests {
    static let template = TemplateDefinition(name: "tiny", vcpus: 1, memoryMiB: 256, bootTimeoutSeconds: 5, domainXML: "<domain/>")
    static let base = "dp-base-tiny-v1.qcow2"

    static func started(_ name: String = "eng-001", hardware: DesktopHardware? = nil) async throws -> (FakeHypervisor, DesktopIdentity) {
        let fake = FakeHypervisor()
        try await fake.importBaseVolume(named: base, from: .file("/images/tiny.qcow2"))
        let desktop = HypervisorConformance.desktop(name, template: template)
        try await fake.createDesktop(desktop, base: base, template: template, hardware: hardware ?? DesktopHardware(template: template))
        try await fake.startDesktop(named: name)
        return (fake, desktop)
    }

    @Test("conformance: create, start, ready, idempotent, listed, reconfigured, destroyed; missing base and desktop")
    func conformance() async throws {
        let fake = FakeHypervisor()
        try await fake.importBaseVolume(named: Self.base, from: .file("/images/tiny.qcow2"))
        let desktop = HypervisorConformance.desktop("eng-001", template: Self.template)
        try await HypervisorConformance.createStartReady(fake, desktop: desktop, base: Self.base, template: Self.template, deadline: .seconds(5))
        try await HypervisorConformance.createIsIdempotent(fake, desktop: desktop, base: Self.base, template: Self.template)
        try await HypervisorConformance.listsClone(fake, desktop: desktop, base: Self.base)
        try await HypervisorConformance.reconfigureShowsInFacts(fake, desktop: desktop, hardware: DesktopHardware(template: Self.template))
        try await HypervisorConformance.saveAndResume(fake, desktop: desktop, deadline: .seconds(5))
        try await HypervisorConformance.destroyRemovesEverything(fake, desktop: desktop)
        try await HypervisorConformance.seedGoesWithTheDesktop(fake, desktop: HypervisorConformance.desktop("eng-003", template: Self.template),
                                                              base: Self.base, template: Self.template)
        try await HypervisorConformance.missingBaseFails(fake, desktop: HypervisorConformance.desktop("eng-002", template: Self.template), template: Self.template)
        try await HypervisorConformance.missingDesktopIsNotFound(fake, template: Self.template)
        fake.addForeignDomain("not-deskpools")
        try await HypervisorConformance.foreignDomainHasNoIdentity(fake, domainName: "not-deskpools")
    }

    @Test("a pool's hardware reaches the definition; live memory changes only the live definition, within its maximum")
    func liveMemory() async throws {
        let hardware = DesktopHardware(vcpus: 2, memoryMiB: 1024, monitors: 2)
        let (fake, desktop) = try await Self.started(hardware: hardware)
        try await fake.setLiveMemory(512, onDesktop: desktop.name)
        let facts = try await fake.facts(ofDesktop: desktop.name)
        #expect(facts.persistent.hardware == hardware)
        #expect(facts.persistent.memoryMiB == 1024)
        #expect(facts.live?.memoryMiB == 512)
        #expect(facts.live?.maxMemoryMiB == 1024)
        #expect(facts.current.memoryMiB == 512)
        let above = await #expect(throws: DeskpoolError.self) { try await fake.setLiveMemory(2048, onDesktop: desktop.name) }
        #expect(above?.code == .invalidInput)
        try await fake.stopDesktop(named: desktop.name, timeout: .seconds(1))
        #expect(try await fake.facts(ofDesktop: desktop.name).live == nil)
        let stopped = await #expect(throws: DeskpoolError.self) { try await fake.setLiveMemory(512, onDesktop: desktop.name) }
        #expect(stopped?.code == .hypervisorFailed)
    }

    @Test("drift: a definition altered outside Deskpool shows in its facts; reconfigure puts it back")
    func drift() async throws {
        let (fake, desktop) = try await Self.started()
        fake.alterDefinition(desktop.name) { $0.usbRedirection = true }
        let facts = try await fake.facts(ofDesktop: desktop.name)
        #expect(facts.persistent.hardware.usbRedirection)
        #expect(facts.live?.hardware.usbRedirection == false, "the running guest keeps its hardware")
        var next = desktop
        next.generation += 1
        try await fake.reconfigure(desktop.name, hardware: DesktopHardware(template: Self.template), identity: next)
        #expect(try await fake.facts(ofDesktop: desktop.name).persistent.hardware == DesktopHardware(template: Self.template))
    }

    @Test("guest commands: scripted answers, output cut at the limit, a silent agent, a command that does not finish")
    func guestCommands() async throws {
        let (fake, desktop) = try await Self.started()
        let echo = GuestCommand(path: "/bin/sh", arguments: ["-c", "echo hello"])
        #expect(try await fake.runGuestCommand(echo, timeout: .seconds(5), onDesktop: desktop.name) == GuestCommandResult(exitCode: 0, stdout: "", stderr: ""))
        fake.scriptGuestCommands(on: desktop.name) { command in
            switch command.arguments.last {
            case "big": GuestCommandResult(exitCode: 0, stdout: String(repeating: "a", count: GuestCommandResult.outputLimit + 1), stderr: "")
            case "hang": nil
            default: GuestCommandResult(exitCode: 3, stdout: "hello\n", stderr: "err\n")
            }
        }
        #expect(try await fake.runGuestCommand(echo, timeout: .seconds(5), onDesktop: desktop.name) == GuestCommandResult(exitCode: 3, stdout: "hello\n", stderr: "err\n"))
        let big = try await fake.runGuestCommand(GuestCommand(path: "/x", arguments: ["big"]), timeout: .seconds(5), onDesktop: desktop.name)
        #expect(big.truncated && big.stdout.utf8.count == GuestCommandResult.outputLimit)
        let hang = await #expect(throws: DeskpoolError.self) {
            _ = try await fake.runGuestCommand(GuestCommand(path: "/x", arguments: ["hang"]), timeout: .seconds(7), onDesktop: desktop.name)
        }
        #expect(hang?.message.hasSuffix("did not finish within 7 s") == true)
        #expect(fake.guestCommands(on: desktop.name).count == 4)

        fake.silenceAgent(of: desktop.name)
        let silent = await #expect(throws: DeskpoolError.self) { _ = try await fake.runGuestCommand(echo, timeout: .seconds(5), onDesktop: desktop.name) }
        #expect(silent?.code == .hypervisorFailed)
        #expect(silent?.message.contains("the guest agent does not answer") == true)
        await #expect(throws: DeskpoolError.self) { try await fake.showMessage("hi", onDesktop: desktop.name) }
        fake.silenceAgent(of: desktop.name, false)
        try await fake.showMessage("hi", onDesktop: desktop.name)
        let missing = await #expect(throws: DeskpoolError.self) { _ = try await fake.runGuestCommand(echo, timeout: .seconds(5), onDesktop: "nobody") }
        #expect(missing?.code == .notFound)
    }

    @Test("console facts: a password while running, with the ticket's expiry; never the password")
    func consoleFacts() async throws {
        let (fake, desktop) = try await Self.started()
        let until = Date(timeIntervalSince1970: 1_900_000_000)
        _ = try await fake.setConsolePassword(ConsoleTicket.mint(), validUntil: until, disconnectClients: false, onDesktop: desktop.name)
        let facts = try await fake.facts(ofDesktop: desktop.name)
        #expect(facts.live?.console == ConsoleFacts(passwordSet: true, passwordValidTo: until, tlsRequired: false, listenAddress: "127.0.0.1"))
        #expect(facts.persistent.console?.passwordSet == true)
    }
}
