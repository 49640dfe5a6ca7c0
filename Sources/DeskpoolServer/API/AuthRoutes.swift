import DeskpoolCore
import Foundation
import Hummingbird
import HTTPTypes

/// `/api/v1/auth`: login through PAM (a conversation: throttled, any number of prompts),
/// logout, who am I; and a pool's further factor (`/api/v1/pools/{pool}/factor`).
struct AuthRoutes {
    let services: BrokerServices
    let logins: LoginSessions
    let conversations: LoginConversations
    let metrics: ServerMetrics
    let configuration: HTTPConfiguration

    func add(to api: RouterGroup<DeskpoolRequestContext>) {
        api.post("auth/login") { request, context -> Response in
            let body = try await request.decodeJSON(LoginRequest.self, context: context)
            if let password = body.password { try Self.checkPassword(password) }
            return try answer(await conversations.begin(user: body.user, password: body.password, address: context.clientAddress,
                                                        logger: context.logger))
        }
        api.post("auth/login/:challenge") { request, context -> Response in
            let id = context.parameters.get("challenge") ?? ""
            let body = try await request.decodeJSON(ChallengeAnswers.self, context: context)
            return try answer(await conversations.answer(challenge: id, answers: body.answers, logger: context.logger))
        }
        api.post("pools/:pool/factor") { request, context -> Response in
            let (login, pool) = try await factorPool(request, context: context)
            // Nothing to pass: the pool asks no factor, or this login passed it already.
            guard let factor = pool.factor, !login.principal.factors.contains(factor) else { return try jsonResponse(Self.whoAmI(login)) }
            return try answer(await conversations.beginFactor(pool: pool, login: login, token: context.token ?? "", address: context.clientAddress,
                                                              logger: context.logger))
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
            return try jsonResponse(Self.whoAmI(login))
        }
    }

    static func whoAmI(_ login: LoginSession) -> WhoAmI {
        WhoAmI(user: login.user, groups: login.principal.groups, admin: login.admin, expiresAt: login.expiresAt, csrf: login.csrf,
               factors: login.principal.factors)
    }

    /// A password as a client may send it.
    static func checkPassword(_ password: String) throws {
        guard !password.isEmpty, password.utf8.count <= 1024, !password.utf8.contains(0) else {
            throw APIFailure(.badRequest, code: "invalidInput", "must be 1 to 1024 bytes without a NUL byte", field: "password")
        }
    }

    /// The session and the pool of a further-factor request: the user must be entitled to the
    /// pool.
    func factorPool(_ request: Request, context: DeskpoolRequestContext) async throws -> (LoginSession, PoolSpec) {
        let login = try context.requireSession(request)
        let name = try context.name("pool")
        guard let pool = try await services.broker.store.pool(named: name), !pool.draining else {
            throw APIFailure(DeskpoolError(.notFound, "no pool named \(name)", field: "pool"))
        }
        guard pool.entitles(user: login.user, groups: login.principal.groups) else {
            throw APIFailure(DeskpoolError(.notEntitled, "\(login.user) is not entitled to pool \(name)", field: "pool"))
        }
        return (login, pool)
    }

    /// The API's answer to a login step: 200 with the login (and its cookie), 200 with who the
    /// user is after a further factor, 401 `replyExpected` with a challenge, or the refusal.
    func answer(_ result: LoginResult) throws -> Response {
        switch result {
        case .loggedIn(let token, let login, let messages):
            var response = try jsonResponse(LoginResponse(token: token, csrf: login.csrf, user: login.user, admin: login.admin,
                                                          expiresAt: login.expiresAt, messages: messages))
            response.setCookie(sessionCookie(token))
            return response
        case .factorPassed(let login, _):
            return try jsonResponse(Self.whoAmI(login))
        case .challenge(let challenge):
            return try jsonResponse(LoginChallengeResponse(error: Self.replyExpected(challenge), challenge: challenge), status: .unauthorized)
        case .refused(let refusal):
            throw failure(refusal)
        }
    }

    /// The error part of a challenge: what a client that does not know challenges reads.
    static func replyExpected(_ challenge: LoginChallengeView) -> APIErrorBody.Detail {
        APIErrorBody.Detail(code: "replyExpected",
                            message: "the login asks \(challenge.prompts.count) more answer(s): POST /api/v1/auth/login/{challenge.id} with {\"answers\": [...]}")
    }

    /// A refused login step as an API error, with Retry-After when the client may try again later.
    func failure(_ refusal: LoginRefusal) -> APIFailure {
        var failure = APIFailure(refusal.error)
        if !refusal.messages.isEmpty { failure.body.messages = refusal.messages }
        if let retryAfter = refusal.retryAfter {
            failure.headers[.retryAfter] = String(max(1, Int(retryAfter.timeIntervalSince(services.now()).rounded(.up))))
        }
        return failure
    }

    /// Ends the request's login session, if it has one (audited).
    func logout(context: DeskpoolRequestContext) async throws(DeskpoolError) {
        guard let token = context.token else { return }
        try await logins.end(token: token)
        if let login = context.login {
            try? await services.broker.audit(AuditEntry(at: services.now(), actor: "user:\(login.user)", action: "auth.logout",
                                                       subject: LoginConversations.addressSubject(context.clientAddress)))
        }
    }

    /// The portal's session cookie: HttpOnly, SameSite=Strict, Secure over TLS.
    func sessionCookie(_ token: String, maxAge: Int? = nil) -> Cookie {
        Cookie(name: AuthenticationMiddleware.cookieName, value: token, maxAge: maxAge ?? configuration.sessionHours * 3600, path: "/",
               secure: configuration.tls != nil, httpOnly: true, sameSite: .strict)
    }
}
