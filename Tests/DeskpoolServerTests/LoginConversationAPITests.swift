import DeskpoolCore
import DeskpoolServer
import DeskpoolStore
import DeskpoolTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Logins that ask more than a password (a one-time code, a new password), through the API,
/// with the fake authenticator's scripted conversations; `PAMWrapperTests` and the e2e tier run
/// real PAM stacks.
@Suite("API: login conversations (challenges), further factors of pools")
struct LoginConversationAPITests {
    /// A login step's 401 with its challenge.
    static func challenge(_ answer: (status: HTTPResponse.Status, body: Data, headers: HTTPFields)) throws -> LoginChallengeView {
        #expect(answer.status == .unauthorized)
        #expect(answer.body.errorCode == "replyExpected")
        return try answer.body.decoded(LoginChallengeResponse.self).challenge
    }

    static func answers(_ values: [String]) -> ChallengeAnswers { ChallengeAnswers(answers: values) }

    @Test("a second factor: the password, then a challenge with the code's prompt, then the login; the challenge is answered once")
    func secondFactor() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let first = try Self.challenge(try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "erin", password: "erin-pw")))
            #expect(first.prompts == [AuthPrompt(text: FakeAuthenticator.codePrompt, echo: false)])
            #expect(first.id.count == 44 && first.expiresAt > Date())
            let done = try await client.call(.post, "/api/v1/auth/login/\(first.id)", json: Self.answers([ServerTestRig.code]))
            #expect(done.status == .ok)
            let login = try done.body.decoded(LoginResponse.self)
            #expect(login.user == "erin")
            #expect(done.headers[.setCookie]?.contains("deskpool_session=\(login.token)") == true)
            #expect(try await client.call(.get, "/api/v1/auth/me", [.authorization: "Bearer \(login.token)"]).status == .ok)
            // Replayed (the same answer sent again, or by someone who saw it): refused.
            let replay = try await client.call(.post, "/api/v1/auth/login/\(first.id)", json: Self.answers([ServerTestRig.code]))
            #expect(replay.status == .unauthorized && replay.body.errorCode == "challengeExpired")
            // Nothing of the challenge is left in the store.
            #expect(try await rig.harness.store.challenge(key: LoginSessions.key(first.id)) == nil)
        }
    }

    @Test("a wrong code is one failed login (not one per step), answered as a wrong password is, and audited without the code")
    func wrongCode() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let challenge = try Self.challenge(try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "erin", password: "erin-pw")))
            let wrong = try await client.call(.post, "/api/v1/auth/login/\(challenge.id)", json: Self.answers(["999999"]))
            let wrongPassword = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "alice", password: "nope"))
            #expect(wrong.status == .unauthorized && wrong.body.errorCode == "unauthenticated")
            #expect(try wrong.body.decoded(APIErrorBody.self).error.message == (try wrongPassword.body.decoded(APIErrorBody.self)).error.message)
            let counts = try await rig.harness.store.loginFailures(keys: [LoginThrottle.Key(user: "erin", address: nil)])
            #expect(counts.map(\.failures) == [1])
            let audit = try await rig.harness.store.auditLog(AuditQuery(action: "auth.login"))
            #expect(audit.contains { $0.subject == "user/erin" && $0.result == "error: unauthenticated" })
            #expect(audit.allSatisfy { !$0.detail.contains("999999") && !$0.detail.contains("erin-pw") && !$0.subject.contains("999999") })
            // The conversation ended with the failure: its challenge cannot be answered again.
            let again = try await client.call(.post, "/api/v1/auth/login/\(challenge.id)", json: Self.answers([ServerTestRig.code]))
            #expect(again.body.errorCode == "challengeExpired")
        }
    }

    @Test("a challenge expires: answered too late it is refused, and the conversation is gone")
    func expiry() async throws {
        let rig = try await ServerTestRig(challengeSeconds: 1)
        try await rig.test { client in
            let challenge = try Self.challenge(try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "erin", password: "erin-pw")))
            try await Task.sleep(for: .milliseconds(1500))
            let late = try await client.call(.post, "/api/v1/auth/login/\(challenge.id)", json: Self.answers([ServerTestRig.code]))
            #expect(late.status == .unauthorized && late.body.errorCode == "challengeExpired")
            try await rig.harness.wait(for: "the conversation to end", timeout: .seconds(5)) { rig.authenticator.open == 0 }
        }
    }

    @Test("without a password every prompt is a challenge; unknown and malformed challenge ids are refused alike; a wrong count of answers is 400")
    func promptsOnly() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let password = try Self.challenge(try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "alice", password: nil)))
            #expect(password.prompts == [AuthPrompt(text: "Password: ", echo: false)])
            let miscounted = try await client.call(.post, "/api/v1/auth/login/\(password.id)", json: Self.answers(["alice-pw", "extra"]))
            #expect(miscounted.status == .badRequest && miscounted.body.errorField == "answers")
            let fresh = try Self.challenge(try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "alice", password: nil)))
            let done = try await client.call(.post, "/api/v1/auth/login/\(fresh.id)", json: Self.answers(["alice-pw"]))
            #expect(done.status == .ok)
            for id in [String(repeating: "A", count: 44), "short", String(repeating: "%", count: 44)] {
                let answer = try await client.call(.post, "/api/v1/auth/login/\(id)", json: Self.answers(["x"]))
                #expect(answer.status == .unauthorized && answer.body.errorCode == "challengeExpired")
            }
            let huge = try await client.call(.post, "/api/v1/auth/login/\(fresh.id)", json: Self.answers([String(repeating: "x", count: 2000)]))
            #expect(huge.status == .badRequest && huge.body.errorField == "answers")
        }
    }

    @Test("an expired password: the new one is asked twice in the same login, with the stack's message; then it is the password")
    func expiredPassword() async throws {
        let rig = try await ServerTestRig { $0.loginThrottle.baseDelaySeconds = 0 }
        try await rig.test { client in
            let change = try Self.challenge(try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "frank", password: "frank-pw")))
            #expect(change.prompts.map(\.text) == ["New password: ", "Retype new password: "])
            #expect(change.messages.contains { $0.text.contains("change your password") && $0.kind == .info })
            let done = try await client.call(.post, "/api/v1/auth/login/\(change.id)", json: Self.answers(["frank-new-1", "frank-new-1"]))
            #expect(done.status == .ok)
            #expect(try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "frank", password: "frank-pw")).status == .unauthorized)
            _ = try await client.login("frank", "frank-new-1")
        }
    }

    @Test("conversations waiting for answers are bounded per client address: beyond, 429")
    func openBound() async throws {
        let rig = try await ServerTestRig { $0.loginThrottle.maxOpenConversationsPerAddress = 2 }
        try await rig.test { client in
            for _ in 0..<2 {
                _ = try Self.challenge(try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "erin", password: "erin-pw")))
            }
            let third = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "erin", password: "erin-pw"))
            #expect(third.status == .tooManyRequests && third.headers[.retryAfter] != nil)
            // A password-only login is not held back by them.
            _ = try await client.login("alice")
        }
    }

    @Test("a pool's factor: no desktop until the login passed it; then the pool's PAM service asks, and only that login carries it")
    func poolFactor() async throws {
        let rig = try await ServerTestRig { $0.loginThrottle.baseDelaySeconds = 0 }
        try await rig.withEngPool(configure: { $0.factor = ServerTestRig.factorService }) {
            try await rig.test { client in
                let erin = try await client.login("erin", answering: [[ServerTestRig.code]])
                let refused = try await client.call(.post, "/api/v1/pools/eng/desktop", erin.bearer)
                #expect(refused.status == .forbidden && refused.body.errorCode == "factorRequired")
                let pools = try await client.call(.get, "/api/v1/pools", erin.bearer)
                #expect(try pools.body.decoded([UserPoolView].self).first?.factorRequired == true)

                let first = try Self.challenge(try await client.call(.post, "/api/v1/pools/eng/factor", erin.bearer))
                #expect(first.prompts.map(\.text) == [FakeAuthenticator.codePrompt])
                let wrong = try await client.call(.post, "/api/v1/auth/login/\(first.id)", json: Self.answers(["000000"]))
                #expect(wrong.status == .unauthorized && wrong.body.errorCode == "unauthenticated")
                // A failed factor does not end the login itself.
                #expect(try await client.call(.get, "/api/v1/auth/me", erin.bearer).status == .ok)

                let second = try Self.challenge(try await client.call(.post, "/api/v1/pools/eng/factor", erin.bearer))
                let passed = try await client.call(.post, "/api/v1/auth/login/\(second.id)", json: Self.answers([ServerTestRig.code]))
                #expect(passed.status == .ok)
                #expect(try passed.body.decoded(WhoAmI.self).factors.contains(ServerTestRig.factorService))
                let desktop = try await client.call(.post, "/api/v1/pools/eng/desktop", erin.bearer)
                #expect(desktop.status == .ok)
                // Passed: asking again has nothing to pass.
                let again = try await client.call(.post, "/api/v1/pools/eng/factor", erin.bearer)
                #expect(again.status == .ok)
                #expect(try again.body.decoded(WhoAmI.self).factors.contains(ServerTestRig.factorService))
                let audit = try await rig.harness.store.auditLog(AuditQuery(action: "auth.factor"))
                #expect(audit.contains { $0.subject == "pool/eng" && $0.actor == "user:erin" })

                // Another login of the same user has not passed it.
                let other = try await client.login("erin", answering: [[ServerTestRig.code]])
                #expect(try await client.call(.post, "/api/v1/pools/eng/desktop", other.bearer).body.errorCode == "factorRequired")
                // Pools without a factor, and pools the user may not use, have nothing to pass.
                let alice = try await client.login("alice")
                let none = try await client.call(.post, "/api/v1/pools/nowhere/factor", alice.bearer)
                #expect(none.status == .notFound)
                let carol = try await client.login("carol")
                #expect(try await client.call(.post, "/api/v1/pools/eng/factor", carol.bearer).status == .forbidden)
                #expect(try await client.call(.post, "/api/v1/pools/eng/factor").status == .unauthorized)
            }
        }
    }

    @Test("the answers have the keys and types the OpenAPI document gives them")
    func answersMatchTheDocument() async throws {
        let rig = try await ServerTestRig { $0.loginThrottle.baseDelaySeconds = 0 }
        try await rig.withEngPool(configure: { $0.factor = ServerTestRig.factorService }) {
            try await rig.test { client in
                let root = try await client.login("root")
                let schemas = try OpenAPIShape(document: try await client.call(.get, "/api/v1/openapi.json", root.bearer).body)
                func check(_ body: Data, _ schema: String) {
                    #expect(schemas.problems(body, schema: schema).isEmpty, "\(schema): \(schemas.problems(body, schema: schema))")
                }
                let asked = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "frank", password: "frank-pw"))
                check(asked.body, "LoginChallengeResponse")
                let id = try Self.challenge(asked).id
                let done = try await client.call(.post, "/api/v1/auth/login/\(id)", json: Self.answers(["frank-2", "frank-2"]))
                check(done.body, "LoginResponse")
                let erin = try await client.login("erin", answering: [[ServerTestRig.code]])
                check(try await client.call(.get, "/api/v1/pools", erin.bearer).body.dropFirst().dropLast(), "UserPool")
                let factor = try Self.challenge(try await client.call(.post, "/api/v1/pools/eng/factor", erin.bearer))
                let passed = try await client.call(.post, "/api/v1/auth/login/\(factor.id)", json: Self.answers([ServerTestRig.code]))
                check(passed.body, "WhoAmI")
                let refused = try await client.call(.post, "/api/v1/auth/login/\(factor.id)", json: Self.answers([ServerTestRig.code]))
                check(refused.body, "Error")
                check(try await client.call(.get, "/api/v1/admin/pools/eng", root.bearer).body, "Pool")
            }
        }
    }

    @Test("two brokers on one store: a challenge from one is answered through the other, once")
    func relayed() async throws {
        let store = try SQLiteStore.inMemory()
        let one = try await ServerTestRig(store: store), two = try await ServerTestRig(store: store)
        try await one.test { a in
            try await two.test { b in
                let challenge = try Self.challenge(try await a.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "erin", password: "erin-pw")))
                let done = try await b.call(.post, "/api/v1/auth/login/\(challenge.id)", json: Self.answers([ServerTestRig.code]))
                #expect(done.status == .ok)
                let login = try done.body.decoded(LoginResponse.self)
                #expect(done.headers[.setCookie]?.contains("deskpool_session=\(login.token)") == true)
                #expect(try await a.call(.get, "/api/v1/auth/me", [.authorization: "Bearer \(login.token)"]).status == .ok)
                #expect(try await b.call(.post, "/api/v1/auth/login/\(challenge.id)", json: Self.answers([ServerTestRig.code])).body.errorCode
                    == "challengeExpired")
                #expect(try await a.call(.post, "/api/v1/auth/login/\(challenge.id)", json: Self.answers([ServerTestRig.code])).body.errorCode
                    == "challengeExpired")

                // Further steps go on through either broker; a wrong answer relayed is refused.
                let frank = try Self.challenge(try await a.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "frank", password: "frank-pw")))
                let mismatch = try await b.call(.post, "/api/v1/auth/login/\(frank.id)", json: Self.answers(["one-1", "two-2"]))
                #expect(mismatch.status == .forbidden || mismatch.status == .unauthorized)
                #expect(try mismatch.body.decoded(APIErrorBody.self).messages?.contains { $0.text.contains("do not match") } == true)
                // Relayed answers never stay in the store.
                #expect(try await store.takeChallengeAnswers(owner: "anyone").isEmpty)
            }
        }
    }
}

extension TestClientProtocol {
    /// Logs in through the API, answering each challenge with the next of `answering`.
    func login(_ user: String, _ password: String? = nil, answering: [[String]]) async throws -> Credentials {
        var answer = try await call(.post, "/api/v1/auth/login", json: LoginRequest(user: user, password: password ?? "\(user)-pw"))
        for answers in answering {
            let challenge = try LoginConversationAPITests.challenge(answer)
            answer = try await call(.post, "/api/v1/auth/login/\(challenge.id)", json: ChallengeAnswers(answers: answers))
        }
        guard answer.status == .ok else { throw RigError("login of \(user) answered \(answer.status)") }
        let login = try answer.body.decoded(LoginResponse.self)
        return Credentials(token: login.token, csrf: login.csrf, cookie: login.token)
    }
}
