/// Checks who a user is through a conversation of any length (PAM in production, `PAMLogin`
/// in DeskpoolPAM; a fake in fast tests): each step either decides or asks the user something.
public protocol Authenticator: Sendable {
    /// Starts a login conversation for `user`.
    /// - Parameters:
    ///   - password: answers the conversation's first hidden prompt (nil: every prompt goes to
    ///     the user).
    ///   - service: the PAM service to use (nil: the configured login service); a pool's
    ///     further factor names its own.
    ///   - address: the client's IP address, for the authentication service's logs.
    func begin(user: String, password: String?, service: String?, from address: String?) async -> AuthenticationStep
}

/// Where a login conversation stands.
public enum AuthenticationStep: Sendable {
    /// The user is who they say and the account may log in now. `service` is the PAM service
    /// that said so.
    case authenticated(SessionBroker.Principal, service: String, messages: [AuthMessage])
    /// The stack asks the user `prompts`; answer through `conversation`.
    case asking(prompts: [AuthPrompt], messages: [AuthMessage], conversation: any AuthenticationConversation)
    /// The login failed: `.unauthenticated` (wrong user name, password or code, never saying
    /// which), `.accountUnusable`, `.unavailable`, `.invalidInput`. Never holds an answer.
    case refused(DeskpoolError, messages: [AuthMessage])
}

/// A conversation waiting for its user's answers.
public protocol AuthenticationConversation: Sendable {
    /// The answers to the last step's prompts, one each and in order; the next step.
    func answer(_ answers: [String]) async -> AuthenticationStep
    /// Ends the conversation unanswered (its login fails).
    func cancel()
}

/// A question of the authentication stack: its text, and whether the answer may be shown as it
/// is typed (off for passwords and codes).
public struct AuthPrompt: Sendable, Hashable, Codable {
    public var text: String
    public var echo: Bool
    public init(text: String, echo: Bool) {
        self.text = text
        self.echo = echo
    }
}

/// What the authentication stack told the user on the way ("a code was sent", "BAD PASSWORD:
/// it is too short"), as it said it.
public struct AuthMessage: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case info, error
    }

    public var text: String
    public var kind: Kind
    public init(text: String, kind: Kind) {
        self.text = text
        self.kind = kind
    }
}

extension Authenticator {
    /// A login with a password alone: a conversation that asks more is refused as
    /// `.unavailable` (the caller cannot answer). For tests and tools.
    public func authenticate(user: String, password: String, from address: String?) async throws(DeskpoolError) -> SessionBroker.Principal {
        switch await begin(user: user, password: password, service: nil, from: address) {
        case .authenticated(let principal, _, _):
            return principal
        case .asking(_, _, let conversation):
            conversation.cancel()
            throw DeskpoolError(.unavailable, "the login asks more than a password")
        case .refused(let error, _):
            throw error
        }
    }
}
