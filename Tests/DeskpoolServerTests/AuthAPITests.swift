import DeskpoolCore
import DeskpoolServer
import DeskpoolStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
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
            // A locked or expired account answers as a wrong password does (the reason is audited).
            let locked = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "dave", password: "dave-pw"))
            #expect(locked.status == .unauthorized && locked.body == wrong.body)
            let bad = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "../etc", password: "x"))
            #expect(bad.status == .badRequest && bad.body.errorCode == "invalidInput")
            let empty = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "alice", password: ""))
            #expect(empty.status == .badRequest)
            // PAM takes C strings: a NUL would cut the password short. Refused before PAM, naming the field.
            let nul = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "alice", password: "alice-pw\u{0}x"))
            #expect(nul.status == .badRequest && nul.body.errorField == "password")
            // Refused logins are audited without the password.
            let audit = try await rig.harness.store.auditLog(AuditQuery(action: "auth.login"))
            #expect(audit.count >= 3 && audit.allSatisfy { !$0.detail.contains("nope") && $0.result.hasPrefix("error") })
            #expect(audit.contains { $0.subject == "user/dave" && $0.result == "error: accountUnusable" && $0.detail.contains("locked") })
            #expect(audit.contains { $0.subject == "invalid name (6 bytes)" })
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

    @Test("a 1 MB user name is a 400 whose audit row is short and says what it was; logins and logouts are audited")
    func hugeNameAndAudit() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let huge = String(repeating: "a", count: 1_000_000)  // within the body limit: the name is what is refused
            for _ in 0..<3 {
                let answer = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: huge, password: "x"))
                #expect(answer.status == .badRequest && answer.body.errorCode == "invalidInput" && answer.body.count < 1000)
            }
            let alice = try await client.login("alice")
            #expect(try await client.call(.post, "/api/v1/auth/logout", alice.bearer).status == .noContent)
            let audit = try await rig.harness.store.auditLog(AuditQuery())
            let refused = audit.filter { $0.subject.hasPrefix("invalid name") }
            #expect(refused.count == 3 && refused.allSatisfy { $0.subject == "invalid name (1000000 bytes)" && $0.actor == "anonymous" })
            #expect(audit.allSatisfy { $0.actor.utf8.count + $0.subject.utf8.count + $0.detail.utf8.count < 5000 })
            #expect(audit.contains { $0.action == "auth.login" && $0.actor == "user:alice" && $0.result == "ok" })
            #expect(audit.contains { $0.action == "auth.logout" && $0.actor == "user:alice" })
        }
    }

    @Test("failed logins are answered no sooner than the configured delay")
    func failureDelay() async throws {
        let rig = try await ServerTestRig { $0.loginThrottle.failureDelayMilliseconds = 400; $0.loginThrottle.baseDelaySeconds = 0 }
        try await rig.test { client in
            for user in ["alice", "zed", "dave"] {
                let start = ContinuousClock.now
                let answer = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: user, password: "nope"))
                #expect(answer.status == .unauthorized)
                #expect(ContinuousClock.now - start >= .milliseconds(400), "\(user)")
            }
        }
    }

    @Test("admins see and clear login locks (audited); others get 401 or 403")
    func loginLocks() async throws {
        let rig = try await ServerTestRig { $0.loginThrottle.lockoutFailures = 2; $0.loginThrottle.baseDelaySeconds = 0 }
        try await rig.test { client in
            for _ in 0..<2 { _ = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "bob", password: "nope")) }
            #expect(try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "bob", password: "bob-pw")).status == .tooManyRequests)
            #expect(try await client.call(.get, "/api/v1/admin/login-locks").status == .unauthorized)
            #expect(try await client.call(.delete, "/api/v1/admin/login-locks?user=bob").status == .unauthorized)
            let alice = try await client.login("alice")
            #expect(try await client.call(.get, "/api/v1/admin/login-locks", alice.bearer).status == .forbidden)
            #expect(try await client.call(.delete, "/api/v1/admin/login-locks?user=bob", alice.bearer).status == .forbidden)
            let root = try await client.login("root")
            let locks = try await client.call(.get, "/api/v1/admin/login-locks", root.bearer)
            #expect(locks.status == .ok)
            let views = try locks.body.decoded([LoginLockView].self)
            #expect(views.map(\.user) == ["bob"] && views.first?.locked == true && views.first?.address == "unknown")
            #expect(try await client.call(.delete, "/api/v1/admin/login-locks", root.bearer).status == .badRequest)
            #expect(try await client.call(.delete, "/api/v1/admin/login-locks?address=nowhere", root.bearer).status == .badRequest)
            let unlocked = try await client.call(.delete, "/api/v1/admin/login-locks?user=bob", root.bearer)
            #expect(unlocked.status == .ok)
            #expect(try unlocked.body.decoded(LoginUnlockResult.self).cleared == 1)
            #expect(try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "bob", password: "bob-pw")).status == .ok)
            let audit = try await rig.harness.store.auditLog(AuditQuery(action: "auth.unlock"))
            #expect(audit.map(\.actor) == ["admin:root"] && audit.first?.subject == "user/bob")
            let lockouts = try await rig.harness.store.auditLog(AuditQuery(action: "auth.lockout"))
            #expect(lockouts.count == 1 && lockouts.first?.subject == "user/bob@unknown")
        }
    }

    @Test("X-Forwarded-For names the client only when the peer is a trusted proxy")
    func forwardedFor() async throws {
        for (trusted, expected) in [(["127.0.0.0/8", "::1"], "address/203.0.113.7"), (["10.0.0.0/8"], "address/127.0.0.1")] {
            let rig = try await ServerTestRig { $0.trustedProxies = trusted.compactMap(IPNetwork.init) }
            let app = Application(router: rig.server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let body = try JSONEncoder().encode(LoginRequest(user: "alice", password: "alice-pw"))
                let status = try await client.execute(uri: "/api/v1/auth/login", method: .post,
                                                      headers: [.contentType: "application/json", .init("X-Forwarded-For")!: "203.0.113.7"],
                                                      body: ByteBuffer(bytes: body)) { $0.status }
                #expect(status == .ok)
            }
            let audit = try await rig.harness.store.auditLog(AuditQuery(action: "auth.login"))
            #expect(audit.first?.subject == expected, "trusted \(trusted)")
        }
    }

    @Test("a malformed name in a path is a 400 naming the field; a well-formed unknown one stays 404")
    func namesInPaths() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let root = try await client.login("root")
            let bad = try await client.call(.get, "/api/v1/admin/pools/bad%20name", root.bearer)
            #expect(bad.status == .badRequest && bad.body.errorCode == "invalidInput")
            #expect((try? bad.body.decoded(APIErrorBody.self))?.error.field == "name")
            #expect(try await client.call(.get, "/api/v1/admin/pools/nothere", root.bearer).status == .notFound)
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

    @Test("sessions expire after the idle time (each use starts it again) and at their maximum age")
    func idleExpiry() async throws {
        let clock = Mutex(Date(timeIntervalSince1970: 1_000_000))
        func advance(_ seconds: TimeInterval) { clock.withLock { $0 += seconds } }
        let logins = LoginSessions(store: try SQLiteStore.inMemory(), maxAge: 3600, idle: 600, now: { clock.withLock { $0 } })
        let (token, _) = try await logins.create(.init(user: "alice"), admin: false)
        #expect(try await logins.lookup(token: token) != nil)
        advance(599)
        #expect(try await logins.lookup(token: token) != nil, "used within the idle time")
        advance(599)
        #expect(try await logins.lookup(token: token) != nil, "the last use started the idle time again")
        advance(600)
        #expect(try await logins.lookup(token: token) == nil, "idle for 600 s")
        #expect(try await logins.lookup(token: "made-up") == nil)
        let (busy, _) = try await logins.create(.init(user: "bob"), admin: false)
        for _ in 0..<6 {
            advance(590)
            #expect(try await logins.lookup(token: busy) != nil)
        }
        advance(590)
        #expect(try await logins.lookup(token: busy) == nil, "past its maximum age of 3600 s, however busy")
    }

    @Test("a login lives in the store: another broker on it (or this one restarted) knows it, and a logout anywhere ends it")
    func loginsShared() async throws {
        let store = try SQLiteStore.inMemory()
        let one = LoginSessions(store: store, maxAge: 3600, idle: 600)
        let two = LoginSessions(store: store, maxAge: 3600, idle: 600)
        let (token, login) = try await one.create(.init(user: "alice", groups: ["deskpool-admins"]), admin: true)
        let seen = try await two.lookup(token: token)
        #expect(seen?.user == "alice")
        #expect(seen?.admin == true)
        #expect(seen?.csrf == login.csrf)
        #expect(try await two.count() == 1)
        try await two.end(token: token)
        #expect(try await one.lookup(token: token) == nil)
        // Only the token's hash is stored.
        #expect(try await store.login(key: token) == nil)
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
