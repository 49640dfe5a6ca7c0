public import DeskpoolCore
import Synchronization

/// An `Authenticator` with a fixed table of users, passwords and groups, for fast tests of the
/// HTTP layer (the PAM tiers test `PAMLogin` itself). Counts the attempts it was asked.
public final class FakeAuthenticator: Authenticator {
    public struct Account: Sendable {
        public var password: String
        public var groups: [String]
        /// Set to make the account unusable (expired, locked).
        public var unusable = false
        public init(password: String, groups: [String] = [], unusable: Bool = false) {
            self.password = password
            self.groups = groups
            self.unusable = unusable
        }
    }

    private let state: Mutex<(accounts: [String: Account], attempts: Int)>

    public init(_ accounts: [String: Account]) {
        state = Mutex((accounts, 0))
    }

    /// How many times a password was checked.
    public var attempts: Int { state.withLock { $0.attempts } }

    public func authenticate(user: String, password: String, from address: String?) async throws(DeskpoolError) -> SessionBroker.Principal {
        let account = state.withLock { state in
            state.attempts += 1
            return state.accounts[user]
        }
        guard let account, account.password == password else { throw DeskpoolError(.unauthenticated, "wrong user name or password") }
        guard !account.unusable else { throw DeskpoolError(.accountUnusable, "the account is locked; ask an administrator") }
        return SessionBroker.Principal(user: user, groups: account.groups)
    }
}
