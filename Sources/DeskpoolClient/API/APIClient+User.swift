public import DeskpoolCore
import Foundation

// MARK: - Auth

/// A step of a login (or of a pool's further factor).
public enum LoginStep: Sendable {
    case loggedIn(LoginResponse)
    /// A pool's further factor passed: the login as it is now.
    case factorPassed(WhoAmI)
    /// PAM asks more: answer the prompts (`APIClient.answer`).
    case challenge(LoginChallengeView)
}

extension APIClient {
    /// `POST /api/v1/auth/login` for a login that asks nothing but the password (a challenge is a
    /// `replyExpected` error). The answer's token is not kept here: make a client with it
    /// (`loggedIn(as:)`), and save it with `ClientSettings` if wanted.
    public func login(user: String, password: String) async throws -> LoginResponse {
        switch try await beginLogin(user: user, password: password) {
        case .loggedIn(let login): return login
        case .factorPassed: throw ClientError(status: 200, code: "invalidInput", message: "the broker answered a login with a factor")
        case .challenge(let challenge):
            throw ClientError(status: 401, code: "replyExpected", message: "the login asks \(challenge.prompts.count) more answer(s)")
        }
    }

    /// `POST /api/v1/auth/login`: the password answers PAM's first hidden prompt (nil: that
    /// prompt comes back as a challenge too). The first step of the login.
    public func beginLogin(user: String, password: String?) async throws -> LoginStep {
        try await step(.api(.post, "auth", "login").sending(LoginRequest(user: user, password: password)))
    }

    /// `POST /api/v1/auth/login/{challenge}`: the answers to a challenge's prompts, in order.
    public func answer(_ challenge: LoginChallengeView, with answers: [String]) async throws -> LoginStep {
        try await step(.api(.post, "auth", "login", challenge.id).sending(ChallengeAnswers(answers: answers)))
    }

    /// `POST /api/v1/pools/{pool}/factor`: starts the further login a pool asks for.
    public func beginFactor(pool: String) async throws -> LoginStep {
        try await step(.api(.post, "pools", pool, "factor"))
    }

    /// A login step's answer: in, a challenge (401 `replyExpected`), or a `ClientError`.
    private func step(_ endpoint: Endpoint) async throws -> LoginStep {
        let answer = try await send(endpoint)
        if answer.status == 401, let challenge = try? APIJSON.decoder().decode(LoginChallengeResponse.self, from: answer.body),
           challenge.error.code == "replyExpected" {
            return .challenge(challenge.challenge)
        }
        guard (200..<300).contains(answer.status) else {
            throw ClientError(status: answer.status, body: answer.body, retryAfterSeconds: answer.retryAfterSeconds)
        }
        if let login = try? APIJSON.decoder().decode(LoginResponse.self, from: answer.body) { return .loggedIn(login) }
        return .factorPassed(try Self.decode(WhoAmI.self, from: answer.body, request: endpoint))
    }

    /// A copy of this client that sends the login's token.
    public func loggedIn(as login: LoginResponse) -> APIClient {
        var copy = self
        copy.token = login.token
        return copy
    }

    /// `POST /api/v1/auth/logout`: ends the session of the token.
    public func logout() async throws {
        try await callIgnoringBody(.api(.post, "auth", "logout"))
    }

    /// `GET /api/v1/auth/me`.
    public func me() async throws -> WhoAmI {
        try await call(.me)
    }
}

// MARK: - User

extension APIClient {
    /// `GET /api/v1/pools`: the pools the user is entitled to.
    public func userPools() async throws -> [UserPoolView] {
        try await call(.userPools)
    }

    /// `POST /api/v1/pools/{pool}/desktop` (`?another=true` for one more desktop).
    public func requestDesktop(pool: String, another: Bool = false) async throws -> DesktopAnswer {
        try await requestDesktop(.requestDesktop(pool: pool, another: another))
    }

    /// Asks again at the `poll` link of a `PreparingAnswer`.
    public func pollDesktop(_ preparing: PreparingAnswer) async throws -> DesktopAnswer {
        try await requestDesktop(Endpoint(.post, try path(ofLink: preparing.poll)))
    }

    func requestDesktop(_ endpoint: Endpoint) async throws -> DesktopAnswer {
        try Self.desktopAnswer(try await send(endpoint), request: endpoint)
    }

    /// Reads the answer to a desktop request: 200 with the `.vv` file, 202 preparing, or an error.
    static func desktopAnswer(_ answer: Answer, request: Endpoint) throws -> DesktopAnswer {
        switch answer.status {
        case 200:
            guard let id = answer.header("Deskpool-Desktop") else {
                throw UnexpectedAnswer(request: "POST \(request.path)", reason: "no Deskpool-Desktop header with the .vv file")
            }
            let text = String(decoding: answer.body, as: UTF8.self)
            guard text.hasPrefix("[virt-viewer]") else {
                throw UnexpectedAnswer(request: "POST \(request.path)", reason: "the answer is not a .vv file")
            }
            return .file(vv: text, desktopID: id)
        case 202:
            return .preparing(try decode(PreparingAnswer.self, from: answer.body, request: request), retryAfterSeconds: answer.retryAfterSeconds)
        case 200..<300:
            throw UnexpectedAnswer(request: "POST \(request.path)", reason: "status \(answer.status)")
        default:
            throw ClientError(status: answer.status, body: answer.body, retryAfterSeconds: answer.retryAfterSeconds)
        }
    }

    /// `GET /api/v1/sessions`: the user's desktops in a session.
    public func userSessions() async throws -> [DesktopView] {
        try await call(.userSessions)
    }

    /// `DELETE /api/v1/sessions/{desktop}`: logs the user off a desktop.
    public func userLogoff(desktop: String) async throws -> DesktopView {
        try await call(.api(.delete, "sessions", desktop))
    }
}

extension Endpoint {
    public static let me = Endpoint.api(.get, "auth", "me")
    public static let userPools = Endpoint.api(.get, "pools")
    public static let userSessions = Endpoint.api(.get, "sessions")

    static func requestDesktop(pool: String, another: Bool) -> Endpoint {
        .api(.post, "pools", pool, "desktop", query: another ? [URLQueryItem(name: "another", value: "true")] : [])
    }
}
