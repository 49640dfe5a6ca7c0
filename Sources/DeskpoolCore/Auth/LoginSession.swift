public import Foundation

/// A logged-in user's session with the API or portal: who, with which role, until when.
/// The token itself is never kept, only its hash (`LoginSessions`); the store keeps the
/// session by that hash, so every broker on one store knows it.
public struct LoginSession: Sendable, Hashable, Codable {
    public var principal: SessionBroker.Principal
    public var admin: Bool
    /// Must accompany cookie-authenticated changes (`X-CSRF-Token` or the form field `csrf`).
    public var csrf: String
    public var createdAt: Date
    public var expiresAt: Date
    public var lastUsed: Date
    /// Identifies the session in logs without revealing its token (first hash characters).
    public var handle: String

    public init(principal: SessionBroker.Principal, admin: Bool, csrf: String, createdAt: Date, expiresAt: Date, lastUsed: Date, handle: String) {
        self.principal = principal
        self.admin = admin
        self.csrf = csrf
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsed = lastUsed
        self.handle = handle
    }

    public var user: String { principal.user }

    /// Whether it is still good at `now`: before its maximum age, and used within `idle`.
    public func isLive(at now: Date, idle: TimeInterval) -> Bool {
        now < expiresAt && now.timeIntervalSince(lastUsed) < idle
    }
}
