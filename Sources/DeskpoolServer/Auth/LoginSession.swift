public import DeskpoolCore
public import Foundation

/// A logged-in user's session with the API or portal: who, with which role, until when.
/// The token itself is never kept, only its hash (`LoginSessions`).
public struct LoginSession: Sendable, Hashable {
    public var principal: SessionBroker.Principal
    public var admin: Bool
    /// Must accompany cookie-authenticated changes (`X-CSRF-Token` or the form field `csrf`).
    public var csrf: String
    public var createdAt: Date
    public var expiresAt: Date
    public var lastUsed: Date
    /// Identifies the session in logs without revealing its token (first hash characters).
    public var handle: String

    public var user: String { principal.user }
}
