public import Foundation

/// `POST /api/v1/auth/login`: the password answers the first hidden prompt of the PAM
/// conversation; without it, that prompt comes back as a challenge too.
public struct LoginRequest: Sendable, Hashable, Codable {
    public var user: String
    public var password: String?
    public init(user: String, password: String?) {
        self.user = user
        self.password = password
    }
}

/// `POST /api/v1/auth/login/{challengeId}`: one answer per prompt, in order.
public struct ChallengeAnswers: Sendable, Hashable, Codable {
    public var answers: [String]
    public init(answers: [String]) { self.answers = answers }
}

/// A step of a login that asks the user something: answer `prompts` (one answer each, in order)
/// before `expiresAt` with `POST /api/v1/auth/login/{id}`; `messages` are what the
/// authentication stack said since the last step. Answered once.
public struct LoginChallengeView: Sendable, Hashable, Codable {
    public var id: String
    public var prompts: [AuthPrompt]
    public var messages: [AuthMessage]
    public var expiresAt: Date
    public init(id: String, prompts: [AuthPrompt], messages: [AuthMessage], expiresAt: Date) {
        self.id = id
        self.prompts = prompts
        self.messages = messages
        self.expiresAt = expiresAt
    }
}

/// The 401 answer of a login step that asks more: the usual error (code `replyExpected`) and
/// the challenge.
public struct LoginChallengeResponse: Sendable, Hashable, Codable {
    public var error: APIErrorBody.Detail
    public var challenge: LoginChallengeView
    public init(error: APIErrorBody.Detail, challenge: LoginChallengeView) {
        self.error = error
        self.challenge = challenge
    }
}

/// The answer to a login: the session token (bearer token, and the portal's cookie) and the
/// CSRF token that cookie-authenticated changes must carry.
public struct LoginResponse: Sendable, Hashable, Codable {
    public var token: String
    public var csrf: String
    public var user: String
    public var admin: Bool
    public var expiresAt: Date
    /// What the authentication stack said on the way ("your password expires in 3 days").
    public var messages: [AuthMessage]
    public init(token: String, csrf: String, user: String, admin: Bool, expiresAt: Date, messages: [AuthMessage] = []) {
        self.token = token
        self.csrf = csrf
        self.user = user
        self.admin = admin
        self.expiresAt = expiresAt
        self.messages = messages
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        token = try c.decode(String.self, forKey: .token)
        csrf = try c.decode(String.self, forKey: .csrf)
        user = try c.decode(String.self, forKey: .user)
        admin = try c.decode(Bool.self, forKey: .admin)
        expiresAt = try c.decode(Date.self, forKey: .expiresAt)
        messages = try c.decodeIfPresent([AuthMessage].self, forKey: .messages) ?? []
    }
}

/// `GET /api/v1/auth/me`.
public struct WhoAmI: Sendable, Hashable, Codable {
    public var user: String
    public var groups: [String]
    public var admin: Bool
    public var expiresAt: Date
    public var csrf: String
    /// The PAM services this login passed: the login's, and the further factors pools asked for.
    public var factors: [String]
    public init(user: String, groups: [String], admin: Bool, expiresAt: Date, csrf: String, factors: [String] = []) {
        self.user = user
        self.groups = groups
        self.admin = admin
        self.expiresAt = expiresAt
        self.csrf = csrf
        self.factors = factors
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        user = try c.decode(String.self, forKey: .user)
        groups = try c.decode([String].self, forKey: .groups)
        admin = try c.decode(Bool.self, forKey: .admin)
        expiresAt = try c.decode(Date.self, forKey: .expiresAt)
        csrf = try c.decode(String.self, forKey: .csrf)
        factors = try c.decodeIfPresent([String].self, forKey: .factors) ?? []
    }
}
