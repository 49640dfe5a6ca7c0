import DeskpoolCore
import DeskpoolServer
import DeskpoolStore
import DeskpoolTestRigs
import DeskpoolTesting
import Foundation
import HTTPTypes
import Testing

/// The API while its PostgreSQL store goes away under a stream of requests and comes back
/// (cut through a proxy; the shared test cluster is never restarted). Needs a server
/// (`PostgresTestDatabase`): fails in CI without it, reported skipped elsewhere.
@Suite("API: the PostgreSQL store away and back", .serialized,
       .enabled(if: PostgresTestDatabase.runs, "no PostgreSQL server: DESKPOOL_TEST_POSTGRES is not set (scripts/postgres start)"))
struct StoreOutageAPITests {
    @Test("every answer is a 200 or a 503 with Retry-After, a login during the outage is a 503 (never a wrong password), and afterwards the earlier login still works")
    func requestsThroughAnOutage() async throws {
        try await PostgresTestDatabase.with { settings in
            let proxy = try SocketProxy(to: .loopback(port: settings.port))
            defer { proxy.stop() }
            var through = settings
            through.host = "127.0.0.1"
            through.port = proxy.port
            through.operationTimeout = .seconds(5)
            let store = try await PostgresStore(through)
            defer { store.close() }
            let rig = try await ServerTestRig(store: store)
            try await rig.test { client in
                let alice = try await client.login("alice")
                var statuses: [HTTPResponse.Status] = []
                var withoutRetryAfter = 0
                func ask() async throws {
                    let answer = try await client.call(.get, "/api/v1/pools", alice.bearer)
                    statuses.append(answer.status)
                    if answer.status == .serviceUnavailable, answer.headers[.retryAfter] == nil { withoutRetryAfter += 1 }
                }
                for _ in 0..<5 { try await ask() }
                proxy.refuse(true)
                proxy.dropAll()
                for _ in 0..<2 { try await ask() }
                let login = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "bob", password: "bob-pw"))
                #expect(login.status == .serviceUnavailable, "a login the store cannot record is a 503, not a refusal")
                #expect(login.headers[.retryAfter] != nil)
                proxy.refuse(false)
                let deadline = ContinuousClock.now + .seconds(60)
                while statuses.last != .ok, ContinuousClock.now < deadline {
                    try await ask()
                    if statuses.last != .ok { try await Task.sleep(for: .milliseconds(250)) }
                }
                #expect(statuses.allSatisfy { $0 == .ok || $0 == .serviceUnavailable }, "only 200 and 503: \(statuses)")
                #expect(statuses.contains(.serviceUnavailable), "the outage was seen")
                #expect(withoutRetryAfter == 0, "every 503 says when to try again")
                #expect(statuses.last == .ok, "service came back by itself")
                #expect(try await client.call(.get, "/api/v1/auth/me", alice.bearer).status == .ok, "the login made before the outage still works")
                #expect(try await client.login("bob").token.isEmpty == false)
            }
        }
    }
}
