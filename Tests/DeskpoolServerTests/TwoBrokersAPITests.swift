import DeskpoolCore
import DeskpoolServer
import DeskpoolStore
import DeskpoolTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Two brokers (two HTTP servers, each with its own `PostgresStore`, as two processes would
/// have) on one PostgreSQL database: a client may reach either one. Needs a server
/// (`PostgresTestDatabase`): fails in CI without it, reported skipped elsewhere.
@Suite("API: two brokers on one PostgreSQL store", .serialized,
       .enabled(if: PostgresTestDatabase.runs, "no PostgreSQL server: DESKPOOL_TEST_POSTGRES is not set (scripts/postgres start)"))
struct TwoBrokersAPITests {
    @Test("a login made on one broker works on the other, and a logout on either ends it everywhere")
    func loginOnEither() async throws {
        try await Self.withTwoBrokers { _, _, a, b in
            let alice = try await a.login("alice")
            let me = try await b.call(.get, "/api/v1/auth/me", alice.bearer)
            #expect(me.status == .ok)
            #expect(try me.body.decoded(WhoAmI.self).user == "alice")
            // The portal's cookie and its CSRF token too: a change through the other broker.
            let cookieMe = try await b.call(.get, "/api/v1/auth/me", [.cookie: "deskpool_session=\(alice.cookie)"])
            #expect(cookieMe.status == .ok)
            #expect(try await b.call(.post, "/api/v1/auth/logout", alice.cookieHeaders).status == .noContent)
            #expect(try await a.call(.get, "/api/v1/auth/me", alice.bearer).status == .unauthorized)
            #expect(try await b.call(.get, "/api/v1/auth/me", alice.bearer).status == .unauthorized)
        }
    }

    @Test("a pool an admin makes through one broker is what users see through the other")
    func poolsOnEither() async throws {
        try await Self.withTwoBrokers { one, _, _, b in
            try await one.harness.admin.applyPool(PoolSpec(name: "eng", template: "tiny", max: 2, spare: 0, groups: ["staff"]), actor: "admin:test")
            let bob = try await b.login("bob")
            let pools = try await b.call(.get, "/api/v1/pools", bob.bearer)
            #expect(pools.status == .ok)
            #expect(pools.body.text.contains("\"eng\""))
        }
    }

    @Test("a login challenge from one broker is answered through the other (the PAM conversation's answers relayed through the store), once")
    func challengeOnEither() async throws {
        try await Self.withTwoBrokers { _, _, a, b in
            let challenge = try LoginConversationAPITests.challenge(
                try await a.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "erin", password: "erin-pw")))
            let done = try await b.call(.post, "/api/v1/auth/login/\(challenge.id)", json: ChallengeAnswers(answers: [ServerTestRig.code]))
            #expect(done.status == .ok)
            let token = try done.body.decoded(LoginResponse.self).token
            #expect(try await a.call(.get, "/api/v1/auth/me", [.authorization: "Bearer \(token)"]).status == .ok)
            let again = try await a.call(.post, "/api/v1/auth/login/\(challenge.id)", json: ChallengeAnswers(answers: [ServerTestRig.code]))
            #expect(again.body.errorCode == "challengeExpired")
        }
    }

    /// Two brokers (rigs), each with its own `PostgresStore` on one fresh database, and a client
    /// of each.
    static func withTwoBrokers(_ body: @Sendable (ServerTestRig, ServerTestRig, any TestClientProtocol, any TestClientProtocol) async throws -> Void)
        async throws {
        try await PostgresTestDatabase.with { settings in
            let storeOne = try await PostgresStore(settings), storeTwo = try await PostgresStore(settings)
            defer { storeOne.close(); storeTwo.close() }
            let one = try await ServerTestRig(store: storeOne), two = try await ServerTestRig(store: storeTwo)
            try await one.test { a in
                try await two.test { b in try await body(one, two, a, b) }
            }
        }
    }
}
