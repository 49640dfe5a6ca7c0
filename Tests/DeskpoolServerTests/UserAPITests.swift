import DeskpoolCore
import DeskpoolServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("API: users' pools, desktop requests and sessions")
struct UserAPITests {
    @Test("a user sees only the pools they are entitled to, with what is ready")
    func pools() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 2) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                let pools = try await client.call(.get, "/api/v1/pools", alice.bearer).body.decoded([UserPoolView].self)
                #expect(pools.map(\.name) == ["eng"])
                #expect(pools.first?.available == 2 && pools.first?.desktops == [])
                let carol = try await client.login("carol")
                #expect(try await client.call(.get, "/api/v1/pools", carol.bearer).body.decoded([UserPoolView].self).isEmpty)
            }
        }
    }

    @Test("requesting a desktop gives the .vv file with the desktop's id; asking again gives the same desktop")
    func requestDesktop() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                let answer = try await client.call(.post, "/api/v1/pools/eng/desktop", alice.bearer)
                #expect(answer.status == .ok)
                #expect(answer.headers[.contentType] == VirtViewerFile.mediaType)
                #expect(answer.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"") == true)
                #expect(answer.body.text.hasPrefix("[virt-viewer]") && answer.body.text.contains("password="))
                let id = try #require(answer.headers[.init("Deskpool-Desktop")!])
                let desktop = try #require(try await rig.harness.store.desktop(id: id))
                #expect(desktop.user == "alice" && desktop.state == .assigned)
                let again = try await client.call(.post, "/api/v1/pools/eng/desktop", alice.bearer)
                #expect(again.headers[.init("Deskpool-Desktop")!] == id)
                let sessions = try await client.call(.get, "/api/v1/sessions", alice.bearer).body.decoded([DesktopView].self)
                #expect(sessions.map(\.id) == [id])
                // Metrics count it.
                let metrics = try await client.call(.get, "/metrics").body.text
                #expect(metrics.contains("deskpool_desktop_requests_total{answer=\"assigned\"} 2"))
                #expect(metrics.contains("deskpool_time_to_desktop_seconds_count 2"))
                #expect(metrics.contains("deskpool_desktops{pool=\"eng\",state=\"assigned\"} 1"))
                #expect(metrics.contains("deskpool_sessions{pool=\"eng\"} 1"))
                // The rig's gateway totals (900 bytes) as rendered; the fault tier checks the real
                // gateway's tunnels and bytes under a remote-viewer (Tests/e2e/faults_test.py).
                #expect(metrics.contains("deskpool_gateway_bytes_total{direction=\"desktop_to_client\"} 900"))
                #expect(metrics.contains("deskpool_logins_total{result=\"ok\"} 1"))
            }
        }
    }

    @Test("with nothing ready the answer is 202 preparing with an estimate, then the .vv once the desktop is up")
    func preparing() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 0, configure: { $0.spare = 0 }) {
            try await rig.test { client in
                let bob = try await client.login("bob")
                let first = try await client.call(.post, "/api/v1/pools/eng/desktop", bob.bearer)
                #expect(first.status == .accepted)
                let preparing = try first.body.decoded(PreparingAnswer.self)
                #expect(preparing.state == "preparing" && preparing.poll == "/api/v1/pools/eng/desktop" && preparing.estimateSeconds > 0)
                #expect(Int(first.headers[.retryAfter] ?? "") != nil)
                try await rig.harness.wait(for: "bob's desktop", timeout: .seconds(10)) {
                    try await rig.harness.store.desktop(id: preparing.desktop.id)?.state == .assigned
                }
                let second = try await client.call(.post, preparing.poll, bob.bearer)
                #expect(second.status == .ok)
                #expect(second.headers[.init("Deskpool-Desktop")!] == preparing.desktop.id)
            }
        }
    }

    @Test("not entitled is 403, an unknown pool 404, a full pool 409 exhausted")
    func refusals() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1, configure: { $0.max = 1 }) {
            try await rig.test { client in
                let carol = try await client.login("carol")
                let denied = try await client.call(.post, "/api/v1/pools/eng/desktop", carol.bearer)
                #expect(denied.status == .forbidden && denied.body.errorCode == "notEntitled")
                let alice = try await client.login("alice")
                #expect(try await client.call(.post, "/api/v1/pools/nope/desktop", alice.bearer).status == .notFound)
                #expect(try await client.call(.post, "/api/v1/pools/..%2Fx/desktop", alice.bearer).status == .badRequest)
                #expect(try await client.call(.post, "/api/v1/pools/eng/desktop", alice.bearer).status == .ok)
                let full = try await client.call(.post, "/api/v1/pools/eng/desktop", try await client.login("bob").bearer)
                #expect(full.status == .conflict && full.body.errorCode == "exhausted")
                #expect(try await client.call(.post, "/api/v1/pools/eng/desktop").status == .unauthorized)
            }
        }
    }

    @Test("a user cannot see or end another user's session; their own logoff refreshes the desktop")
    func sessionsAreOwn() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 2) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                let bob = try await client.login("bob")
                let id = try #require(try await client.call(.post, "/api/v1/pools/eng/desktop", alice.bearer).headers[.init("Deskpool-Desktop")!])
                #expect(try await client.call(.get, "/api/v1/sessions", bob.bearer).body.decoded([DesktopView].self).isEmpty)
                let stolen = try await client.call(.delete, "/api/v1/sessions/\(id)", bob.bearer)
                #expect(stolen.status == .notFound)
                #expect(try await rig.harness.store.desktop(id: id)?.user == "alice")
                #expect(try await client.call(.delete, "/api/v1/sessions/unknown-id", alice.bearer).status == .notFound)
                let ended = try await client.call(.delete, "/api/v1/sessions/\(id)", alice.bearer)
                #expect(ended.status == .ok)
                #expect(try ended.body.decoded(DesktopView.self).state == .refreshing)
            }
        }
    }
}
