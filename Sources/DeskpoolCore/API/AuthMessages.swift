public import Foundation

/// `POST /api/v1/auth/login`.
public struct LoginRequest: Sendable, Hashable, Codable {
    public var user: String
    public var password: String
    public init(user: String, password: String) {
        self.user = user
        self.password = password
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
    public init(token: String, csrf: String, user: String, admin: Bool, expiresAt: Date) {
        self.token = token
        self.csrf = csrf
        self.user = user
        self.admin = admin
        self.expiresAt = expiresAt
    }
}

/// `GET /api/v1/auth/me`.
public struct WhoAmI: Sendable, Hashable, Codable {
    public var user: String
    public var groups: [String]
    public var admin: Bool
    public var expiresAt: Date
    public var csrf: String
    public init(user: String, groups: [String], admin: Bool, expiresAt: Date, csrf: String) {
        self.user = user
        self.groups = groups
        self.admin = admin
        self.expiresAt = expiresAt
        self.csrf = csrf
    }
}
