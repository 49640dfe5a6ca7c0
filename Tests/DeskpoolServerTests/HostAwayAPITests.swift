import DeskpoolCore
import DeskpoolServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// What users and admins get while a host's connection is down (libvirtd restarting or
/// stopped): answers at once, with a reason and when to ask again, never a wait; and normal
/// service once the host is back.
@Suite("The API while a host is away")
struct HostAwayAPITests {
    @Test("a held desktop answers 503 hypervisorUnavailable with Retry-After at once, a ready desktop on the host is not handed out, admins see why; all works again when the host is back")
    func awayAndBack() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 2) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                let held = try await client.call(.post, "/api/v1/pools/eng/desktop", alice.bearer)
                #expect(held.status == .ok)
                let aliceDesktop = try #require(held.headers[.init("Deskpool-Desktop")!])
                let admin = try await client.login("root")

                rig.fake.setUnreachable("libvirtd restarted")
                let clock = ContinuousClock()
                let asked = clock.now
                let again = try await client.call(.post, "/api/v1/pools/eng/desktop", alice.bearer)
                #expect(clock.now - asked < .seconds(1), "answered at once")
                #expect(again.status == .serviceUnavailable)
                #expect(again.body.errorCode == "hypervisorUnavailable", "\(again.body.text)")
                #expect(Int(again.headers[.retryAfter] ?? "").map { (1...30).contains($0) } == true, "Retry-After: \(again.headers[.retryAfter] ?? "none")")
                #expect(try await rig.harness.store.desktop(id: aliceDesktop)?.state == .assigned, "her desktop stays hers")

                // The other ready desktop is on the host that is away: not handed to bob.
                let bob = try await client.login("bob")
                let bobs = try await client.call(.post, "/api/v1/pools/eng/desktop", bob.bearer)
                #expect(bobs.status == .serviceUnavailable, "\(bobs.status) \(bobs.body.text)")
                #expect(bobs.body.errorCode == "hypervisorUnavailable")
                #expect(bobs.headers[.retryAfter] != nil)
                #expect(try await rig.harness.store.desktops(pool: "eng").filter { $0.user == "bob" }.isEmpty, "nothing reserved for bob")

                let hosts = try await client.call(.get, "/api/v1/admin/hosts", admin.bearer).body.decoded([HostView].self)
                let host = try #require(hosts.first)
                #expect(!host.connected)
                #expect(host.link?.state == .away)
                #expect(host.link?.lastError == "libvirtd restarted")
                #expect(host.error?.contains("libvirtd restarted") == true)

                // Nothing of the pool was failed or replaced meanwhile.
                try await Task.sleep(for: .milliseconds(500))
                #expect(try await rig.harness.store.desktops(pool: "eng").allSatisfy { $0.state != .failed })

                rig.fake.setUnreachable(nil)
                try await rig.harness.wait(for: "the host's recovery pass", timeout: .seconds(10)) { rig.fake.status.state == .connected }
                #expect(rig.fake.operations.contains("recovered 2"))
                let open = try await client.call(.post, "/api/v1/pools/eng/desktop", alice.bearer)
                #expect(open.status == .ok)
                #expect(open.headers[.init("Deskpool-Desktop")!] == aliceDesktop)
                let bobsNow = try await client.call(.post, "/api/v1/pools/eng/desktop", bob.bearer)
                #expect(bobsNow.status == .ok)
            }
        }
    }
}
