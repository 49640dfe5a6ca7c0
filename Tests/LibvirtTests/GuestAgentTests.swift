import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Testing

/// `Libvirt` with a real guest booted from the tiny test image (templates/tiny-linux): guest
/// agent events and commands need a live agent, which the test driver does not have.
@Suite(
    "Libvirt with a booted tiny guest", .serialized,
    .enabled(if: TestTier.tinyGuest.isEnabled, Comment(rawValue: TestTier.tinyGuest.skipReason)))
struct GuestAgentTests {
    @Test("agent connects (event), answers guest-ping, and guest-exec reads the name the guest took from SMBIOS")
    func agent() async throws {
        let prefix = try await LibvirtSandbox.run(uri: QemuSystemTests.uri) { sandbox in
            let connection = sandbox.connection
            let pool = try await sandbox.makeDirPool()
            try FileManager.default.copyItem(atPath: TestTier.tinyImagePath, toPath: sandbox.directory + "/base.qcow2")
            try await pool.refresh()
            let base = try await pool.volume(named: "base.qcow2")
            let clone = try await pool.createVolume(xml: LibvirtXML.qcow2Volume(
                name: "guest.qcow2", capacityBytes: try await base.info().capacityBytes, backingPath: base.path))

            let name = sandbox.name("guest")
            let domain = try await connection.defineDomain(xml: TestDomainXML.spiceDomain(
                name: name, type: HostFacts.acceleration().domainType, diskPath: clone.path,
                memoryMiB: 256, smbiosProduct: name))
            let agentEvents = try await connection.agentLifecycleEvents(of: domain)
            try await domain.start()

            // Under TCG the guest boots in 5-10 s, slower on a loaded machine: wait on the event.
            let connected = try await withTimeout(.seconds(240), "the guest agent to connect") { () -> AgentLifecycleEvent? in
                for await event in agentEvents where event.state == .connected { return event }
                return nil
            }
            #expect(connected?.domain.name == name)

            let pong = try await domain.agentCommand(#"{"execute":"guest-ping"}"#, timeout: .seconds(30))
            #expect(try JSONSerialization.jsonObject(with: Data(pong.utf8)) as? [String: [String: String]] == ["return": [:]])

            let output = try await GuestConsole.exec(domain, path: "/bin/cat", arguments: ["/run/deskpool-name"])
            #expect(output == name + "\n")

            let bad = await #expect(throws: LibvirtError.self) {
                _ = try await domain.agentCommand(#"{"execute":"no-such-command"}"#, timeout: .seconds(30))
            }
            #expect(bad?.message.isEmpty == false)

            try await domain.destroy()
            try await domain.undefine()
            return sandbox.prefix
        }
        try await QemuSystemTests.expectNothingLeft(prefix: prefix)
    }
}
