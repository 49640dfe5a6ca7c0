public import DeskpoolCore
public import PAM

/// Deskpool's logins through PAM: `pam_authenticate`, `pam_acct_mgmt` and the user's groups
/// (from the system's user database), on dedicated threads with a bound and a timeout
/// (`PAMAuthenticator`). PAM's failures become the broker's error codes; the messages say what
/// a user or admin can act on, and never which of user name and password was wrong.
public struct PAMLogin: Authenticator {
    let authenticator: PAMAuthenticator

    public init(configuration: AuthenticationConfiguration) {
        authenticator = PAMAuthenticator(configuration: .init(
            service: configuration.pamService, maxConcurrent: configuration.maxConcurrentLogins,
            timeout: .seconds(configuration.loginTimeoutSeconds), maxWait: .seconds(configuration.maxLoginWaitSeconds)))
    }

    public init(authenticator: PAMAuthenticator) { self.authenticator = authenticator }

    public func authenticate(user: String, password: String, from address: String?) async throws(DeskpoolError) -> SessionBroker.Principal {
        do throws(PAMError) {
            let account = try await authenticator.authenticate(user: user, password: password, remoteHost: address)
            return SessionBroker.Principal(user: account.user, groups: account.groups)
        } catch {
            throw Self.map(error)
        }
    }

    static func map(_ error: PAMError) -> DeskpoolError {
        switch error.code {
        case .wrongCredentials, .unknownUser:
            DeskpoolError(.unauthenticated, "wrong user name or password")
        case .accountExpired:
            DeskpoolError(.accountUnusable, "the account has expired; ask an administrator")
        case .accountLocked:
            DeskpoolError(.accountUnusable, "the account is locked; ask an administrator")
        case .passwordExpired:
            DeskpoolError(.accountUnusable, "the password has expired and must be changed first")
        case .accessDenied:
            DeskpoolError(.accountUnusable, "the account may not log in here")
        case .invalidInput:
            // The message names the user name or the password.
            DeskpoolError(.invalidInput, error.message)
        default:
            // timedOut, serviceError, moduleError: the admin reads PAM's detail in the log.
            DeskpoolError(.unavailable, "logins are not possible right now (\(error.code))")
        }
    }
}
