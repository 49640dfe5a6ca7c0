import DeskpoolCore
import DeskpoolServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("API: login, sessions, CSRF, throttling")
struct AuthAPITests {
    @Test("login gives a bearer token, an HttpOnly SameSite=Strict cookie and a CSRF token; me and logout work with it")
    func loginAndLogout() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let answer = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "alice", password: "alice-pw"))
            #expect(answer.status == .ok)
            let login = try answer.body.decoded(LoginResponse.self)
            #expect(login.user == "alice" && !login.admin && login.token.count >= 40 && !login.csrf.isEmpty)
            let cookie = try #require(answer.headers[.setCookie])
            #expect(cookie.contains("deskpool_session=\(login.token)") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            #expect(!cookie.contains("Secure"))  // plain HTTP (no tls configured)
            #expect(!answer.body.text.contains("alice-pw"))

            let me = try await client.call(.get, "/api/v1/auth/me", [.authorization: "Bearer \(login.token)"])
            #expect(me.status == .ok)
            #expect(try me.body.decoded(WhoAmI.self).groups == ["staff"])

            #expect(try await client.call(.post, "/api/v1/auth/logout", [.authorization: "Bearer \(login.token)"]).status == .noContent)
            let after = try await client.call(.get, "/api/v1/auth/me", [.authorization: "Bearer \(login.token)"])
            #expect(after.status == .unauthorized)
            #expect(after.body.errorCode == "unauthenticated")
        }
    }

    @Test("the admin role comes from the admin group")
    func adminRole() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let root = try await client.login("root")
            #expect(try await client.call(.get, "/api/v1/auth/me", root.bearer).body.decoded(WhoAmI.self).admin)
        }
    }

    @Test("wrong password, unknown user, unusable account, malformed names and empty passwords are told apart only as they should be")
    func refusals() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let wrong = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "alice", password: "nope"))
            let unknown = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "zed", password: "nope"))
            #expect(wrong.status == .unauthorized && unknown.status == .unauthorized)
            #expect(wrong.body == unknown.body)  // never says which of the two was wrong
            #expect(!wrong.body.text.contains("nope"))
            let locked = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "dave", password: "dave-pw"))
            #expect(locked.status == .forbidden && locked.body.errorCode == "accountUnusable")
            let bad = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "../etc", password: "x"))
            #expect(bad.status == .badRequest && bad.body.errorCode == "invalidInput")
            let empty = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "alice", password: ""))
            #expect(empty.status == .badRequest)
            // Refused logins are audited without the password.
            let audit = try await rig.harness.store.auditLog(AuditQuery(action: "auth.login"))
            #expect(audit.count >= 3 && audit.allSatisfy { !$0.detail.contains("nope") && $0.result.hasPrefix("error") })
        }
    }

    @Test("failed logins back off per user: 429 with Retry-After, and PAM is not asked while throttled")
    func throttling() async throws {
        let rig = try await ServerTestRig { $0.loginThrottle.baseDelaySeconds = 60; $0.loginThrottle.maxDelaySeconds = 120 }
        try await rig.test { client in
            #expect(try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "alice", password: "no")).status == .unauthorized)
            let asked = rig.authenticator.attempts
            let throttled = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "alice", password: "alice-pw"))
            #expect(throttled.status == .tooManyRequests)
            #expect(throttled.body.errorCode == "throttled")
            #expect(Int(throttled.headers[.retryAfter] ?? "") ?? 0 > 50)
            #expect(rig.authenticator.attempts == asked)
            // Another user is not affected.
            #expect(try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "bob", password: "bob-pw")).status == .ok)
        }
    }

    @Test("a cookie-authenticated change needs the CSRF header; a bearer token does not; a GET needs neither")
    func csrf() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                let cookieOnly: HTTPFields = [.cookie: "deskpool_session=\(alice.cookie)"]
                #expect(try await client.call(.get, "/api/v1/pools", cookieOnly).status == .ok)
                let refused = try await client.call(.post, "/api/v1/pools/eng/desktop", cookieOnly)
                #expect(refused.status == .forbidden && refused.body.errorCode == "forbidden")
                var wrong = cookieOnly
                wrong[.init("X-CSRF-Token")!] = "not-the-token"
                #expect(try await client.call(.post, "/api/v1/pools/eng/desktop", wrong).status == .forbidden)
                #expect(try await client.call(.post, "/api/v1/pools/eng/desktop", alice.cookieHeaders).status == .ok)
                #expect(try await client.call(.post, "/api/v1/pools/eng/desktop", alice.bearer).status == .ok)
            }
        }
    }

    @Test("sessions expire after the idle time")
    func idleExpiry() async throws {
        let logins = LoginSessions(maxAge: 3600, idle: 0.2)
        let (token, _) = await logins.create(.init(user: "alice"), admin: false)
        #expect(await logins.session(token: token) != nil)
        try await Task.sleep(for: .milliseconds(300))
        #expect(await logins.session(token: token) == nil)
        #expect(await logins.session(token: "made-up") == nil)
    }

    @Test("security headers on answers, errors included; unknown paths are JSON 404s; wrong methods 405 with Allow")
    func headersAndStatuses() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            for (method, path, status) in [(HTTPRequest.Method.get, "/healthz", HTTPResponse.Status.ok), (.get, "/api/v1/nothing", .notFound),
                                           (.put, "/api/v1/auth/login", .methodNotAllowed), (.get, "/api/v1/pools", .unauthorized)] {
                let answer = try await client.call(method, path)
                #expect(answer.status == status, "\(method) \(path)")
                #expect(answer.headers[.xContentTypeOptions] == "nosniff")
                #expect(answer.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
                #expect(answer.headers[.init("X-Frame-Options")!] == "DENY")
                if status != .ok { #expect(answer.body.errorCode != nil, "JSON error body for \(path)") }
            }
            #expect(try await client.call(.put, "/api/v1/auth/login").headers[.allow] == "POST")
        }
    }
}
