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

    func add(to api: RouterGroup<BrokerRequestContext>) {
        api.post("auth/login") { request, context -> Response in
            let body = try await request.decodeJSON(LoginRequest.self, context: context)
            let (token, session) = try await login(user: body.user, password: body.password, context: context)
            var response = try jsonResponse(LoginResponse(token: token, csrf: session.csrf, user: session.user, admin: session.admin,
                                                          expiresAt: session.expiresAt))
            response.setCookie(sessionCookie(token))
            return response
        }
        api.post("auth/logout") { request, context -> Response in
            if context.session != nil { _ = try context.requireSession(request) }
            if let token = context.token { await logins.end(token: token) }
            var response = Response(status: .noContent)
            response.setCookie(sessionCookie("", maxAge: 0))
            return response
        }
        api.get("auth/me") { _, context -> Response in
            guard let session = context.session else { throw APIFailure.unauthenticated() }
            return try jsonResponse(WhoAmI(user: session.user, groups: session.principal.groups, admin: session.admin,
                                           expiresAt: session.expiresAt, csrf: session.csrf))
        }
    }

    /// Checks the password (throttle, then PAM) and starts a login session. Shared by the API
    /// and the portal's login form.
    func login(user: String, password: String, context: BrokerRequestContext) async throws -> (token: String, session: LoginSession) {
        guard !password.isEmpty, password.utf8.count <= 1024 else {
            throw APIFailure(.badRequest, code: "invalidInput", "must be 1 to 1024 bytes", field: "password")
        }
        let start = ContinuousClock.now
        let principal: SessionBroker.Principal
        do throws(LoginGate.Refusal) {
            principal = try await gate.login(user: user, password: password, address: context.clientAddress)
        } catch {
            if error.error.code != .throttled { metrics.pamDuration.record(ContinuousClock.now - start) }
            metrics.loginFailed(error.error.code)
            context.logger.notice("login refused", metadata: [
                "user": "\(user)", "address": "\(context.clientAddress ?? "?")", "code": "\(error.error.code)"])
            try? await services.store.audit(AuditEntry(at: services.now(), actor: user, action: "auth.login",
                                                       subject: "user/\(user)", result: "error: \(error.error.code)",
                                                       detail: "from \(context.clientAddress ?? "unknown address")"))
            var failure = APIFailure(error.error)
            if let retryAfter = error.retryAfter {
                failure.headers[.retryAfter] = String(max(1, Int(retryAfter.timeIntervalSince(services.now()).rounded(.up))))
            }
            throw failure
        }
        metrics.pamDuration.record(ContinuousClock.now - start)
        metrics.loginsOK.increment()
        let admin = principal.groups.contains(services.adminGroup)
        let created = await logins.create(principal, admin: admin)
        context.logger.info("login", metadata: ["user": "\(principal.user)", "admin": "\(admin)", "session": "\(created.session.handle)"])
        return created
    }

    /// The portal's session cookie: HttpOnly, SameSite=Strict, Secure over TLS.
    func sessionCookie(_ token: String, maxAge: Int? = nil) -> Cookie {
        Cookie(name: AuthenticationMiddleware.cookieName, value: token, maxAge: maxAge ?? configuration.sessionHours * 3600, path: "/",
               secure: configuration.tls != nil, httpOnly: true, sameSite: .strict)
    }
}
