import DeskpoolCore
import Foundation
import Hummingbird
import HTTPTypes

/// `/api/v1/auth`: login through PAM (throttled), logout, who am I.
struct AuthRoutes {
    let services: BrokerServices
    let logins: LoginSessions
    let gate: LoginGate
    let metrics: ServerMetrics
    let configuration: HTTPConfiguration

    func add(to api: RouterGroup<DeskpoolRequestContext>) {
        api.post("auth/login") { request, context -> Response in
            let body = try await request.decodeJSON(LoginRequest.self, context: context)
            let (token, login) = try await login(user: body.user, password: body.password, context: context)
            var response = try jsonResponse(LoginResponse(token: token, csrf: login.csrf, user: login.user, admin: login.admin,
                                                          expiresAt: login.expiresAt))
            response.setCookie(sessionCookie(token))
            return response
        }
        api.post("auth/logout") { request, context -> Response in
            if context.login != nil { _ = try context.requireSession(request) }
            try await logout(context: context)
            var response = Response(status: .noContent)
            response.setCookie(sessionCookie("", maxAge: 0))
            return response
        }
        api.get("auth/me") { _, context -> Response in
            guard let login = context.login else { throw APIFailure.unauthenticated() }
            return try jsonResponse(WhoAmI(user: login.user, groups: login.principal.groups, admin: login.admin,
                                           expiresAt: login.expiresAt, csrf: login.csrf))
        }
    }

    /// Checks the password (throttle, then PAM) and starts a login session. Shared by the API
    /// and the portal's login form.
    func login(user: String, password: String, context: DeskpoolRequestContext) async throws -> (token: String, login: LoginSession) {
        guard !password.isEmpty, password.utf8.count <= 1024, !password.utf8.contains(0) else {
            throw APIFailure(.badRequest, code: "invalidInput", "must be 1 to 1024 bytes without a NUL byte", field: "password")
        }
        let start = ContinuousClock.now
        let principal: SessionBroker.Principal
        do throws(LoginGate.Refusal) {
            principal = try await gate.login(user: user, password: password, address: context.clientAddress)
        } catch {
            if case .failed = error.reason { metrics.pamDuration.record(ContinuousClock.now - start) }
            metrics.loginFailed(error.error.code)
            await record(error, user: user, context: context)
            var failure = APIFailure(error.error)
            if let retryAfter = error.retryAfter {
                failure.headers[.retryAfter] = String(max(1, Int(retryAfter.timeIntervalSince(services.now()).rounded(.up))))
            }
            throw failure
        }
        metrics.pamDuration.record(ContinuousClock.now - start)
        metrics.loginsOK.increment()
        let admin = principal.groups.contains(services.adminGroup)
        let created = try await logins.create(principal, admin: admin)
        context.logger.info("login", metadata: ["user": "\(principal.user)", "admin": "\(admin)", "session": "\(created.login.handle)"])
        try? await services.broker.audit(AuditEntry(at: services.now(), actor: "user:\(principal.user)", action: "auth.login",
                                                   subject: Self.addressSubject(context.clientAddress), detail: admin ? "admin" : ""))
        return created
    }

    /// Ends the request's login session, if it has one (audited).
    func logout(context: DeskpoolRequestContext) async throws(DeskpoolError) {
        guard let token = context.token else { return }
        try await logins.end(token: token)
        if let login = context.login {
            try? await services.broker.audit(AuditEntry(at: services.now(), actor: "user:\(login.user)", action: "auth.logout",
                                                       subject: Self.addressSubject(context.clientAddress)))
        }
    }

    /// The server log's and the audit's record of a refused login. What the client sent is
    /// never recorded raw: a malformed name only by its length, and a burst of throttled
    /// attempts as one count per key and interval (`LoginThrottle.reportInterval`).
    func record(_ refusal: LoginGate.Refusal, user: String, context: DeskpoolRequestContext) async {
        let address = context.clientAddress ?? LoginThrottle.unknownAddress
        let now = services.now()
        var entries: [AuditEntry] = []
        switch refusal.reason {
        case .invalidName(let bytes):
            context.logger.notice("login refused", metadata: ["user": "invalid name (\(bytes) bytes)", "address": "\(address)"])
            entries.append(AuditEntry(at: now, actor: "anonymous", action: "auth.login", subject: "invalid name (\(bytes) bytes)",
                                      result: "error: invalidInput", detail: "from \(address)"))
        case .failed(let error):
            // The true reason (expired, locked ...) for the admin; the client got the uniform answer.
            context.logger.notice("login refused", metadata: ["user": "\(user)", "address": "\(address)", "code": "\(error.code)",
                                                              "reason": "\(error.message)"])
            entries.append(AuditEntry(at: now, actor: "anonymous", action: "auth.login", subject: "user/\(user)",
                                      result: "error: \(error.code)", detail: "from \(address): \(error.message)"))
        case .throttled(let key, let locked, let report):
            context.logger.debug("login throttled", metadata: ["address": "\(address)", "locked": "\(locked)"])
            if let report {
                entries.append(AuditEntry(at: now, actor: "anonymous", action: "auth.throttled", subject: Self.subject(key),
                                          result: "error: throttled",
                                          detail: "\(report) login\(report == 1 ? "" : "s") refused while \(locked ? "locked" : "backed off")"))
            }
        case .busy:
            context.logger.notice("login refused: too many waiting", metadata: ["address": "\(address)"])
        }
        if let lock = refusal.lockStarted {
            context.logger.warning("login lockout", metadata: ["key": "\(Self.subject(lock.key))", "until": "\(lock.until.formatted(.iso8601))"])
            entries.append(AuditEntry(at: now, actor: "broker", action: "auth.lockout", subject: Self.subject(lock.key),
                                      result: "ok", detail: "\(lock.failures) failed logins; locked until \(lock.until.formatted(.iso8601))"))
        }
        for entry in entries { try? await services.broker.audit(entry) }
    }

    /// A throttle key in the audit: `user/NAME@ADDRESS` or `address/ADDRESS`.
    static func subject(_ key: LoginThrottle.Key) -> String {
        key.user.map { "user/\($0)@\(key.address)" } ?? "address/\(key.address)"
    }

    static func addressSubject(_ address: String?) -> String { "address/\(address ?? LoginThrottle.unknownAddress)" }

    /// The portal's session cookie: HttpOnly, SameSite=Strict, Secure over TLS.
    func sessionCookie(_ token: String, maxAge: Int? = nil) -> Cookie {
        Cookie(name: AuthenticationMiddleware.cookieName, value: token, maxAge: maxAge ?? configuration.sessionHours * 3600, path: "/",
               secure: configuration.tls != nil, httpOnly: true, sameSite: .strict)
    }
}
