/// A user PAM has authenticated and whose account it has accepted.
public struct PAMAccount: Sendable, Hashable {
    /// The user name as PAM ended up with it (a module may canonicalize it).
    public let user: String
    /// Names of the user's groups (primary first) from the system's user database; empty when
    /// the user exists only in PAM (e.g. a password file module).
    public let groups: [String]

    public init(user: String, groups: [String]) {
        self.user = user
        self.groups = groups
    }
}
