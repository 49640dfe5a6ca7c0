public import DeskpoolCore
import Foundation

// MARK: - Auth

extension APIClient {
    /// `POST /api/v1/auth/login`. The answer's token is not kept here: make a client with it
    /// (`loggedIn(as:)`), and save it with `ClientSettings` if wanted.
    public func login(user: String, password: String) async throws -> LoginResponse {
        try await call(.api(.post, "auth", "login").sending(LoginRequest(user: user, password: password)))
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
