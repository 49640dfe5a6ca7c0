/// Checks a user's password and account: PAM in production (`PAMLogin` in DeskpoolPAM), a
/// fake in fast tests.
public protocol Authenticator: Sendable {
    /// The principal (user name as the system knows it, and groups) when the password is right
    /// and the account may log in now. Errors: `.unauthenticated` (wrong user or password,
    /// never saying which), `.accountUnusable`, `.unavailable`, `.invalidInput`. The password
    /// never appears in an error.
    /// - Parameter address: the client's IP address, for the authentication service's logs.
    func authenticate(user: String, password: String, from address: String?) async throws(DeskpoolError) -> SessionBroker.Principal
}
