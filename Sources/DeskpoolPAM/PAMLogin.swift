public import DeskpoolCore
public import PAM

/// Deskpool's logins through PAM: a conversation (`PAMConversation`) of `pam_authenticate`,
/// `pam_acct_mgmt`, `pam_chauthtok` when the password must change, and the user's groups (from
/// the system's user database), on dedicated threads with a bound and timeouts
/// (`PAMAuthenticator`). PAM's failures become the broker's error codes; the messages say what
/// a user or admin can act on, and never which of user name and password was wrong.
public struct PAMLogin: Authenticator {
    let authenticator: PAMAuthenticator

    public init(configuration: AuthenticationConfiguration) {
        authenticator = PAMAuthenticator(configuration: .init(
            service: configuration.pamService, maxConcurrent: configuration.maxConcurrentLogins,
            timeout: .seconds(configuration.loginTimeoutSeconds), maxWait: .seconds(configuration.maxLoginWaitSeconds),
            // The thread waits a little longer than the challenge lives, so that an answer taken
            // at the challenge's last moment still finds PAM waiting for it.
            answerWindow: .seconds(configuration.challengeSeconds + 15)))
    }

    public init(authenticator: PAMAuthenticator) { self.authenticator = authenticator }

    public func begin(user: String, password: String?, service: String?, from address: String?) async -> AuthenticationStep {
        let service = service ?? authenticator.configuration.service
        do throws(PAMError) {
            return Self.step(try await authenticator.begin(user: user, password: password, remoteHost: address, service: service), service: service)
        } catch {
            return .refused(Self.map(error), messages: [])
        }
    }

    static func step(_ step: PAMStep, service: String) -> AuthenticationStep {
        switch step {
        case .prompts(let prompts, let messages, let conversation):
            return .asking(prompts: prompts.map { AuthPrompt(text: $0.text, echo: $0.echo) }, messages: messages.map(message),
                           conversation: Conversation(conversation: conversation, service: service))
        case .done(.success(let account), let messages):
            return .authenticated(SessionBroker.Principal(user: account.user, groups: account.groups), service: service,
                                  messages: messages.map(message))
        case .done(.failure(let error), let messages):
            return .refused(map(error), messages: messages.map(message))
        }
    }

    static func message(_ message: PAMMessage) -> AuthMessage {
        AuthMessage(text: message.text, kind: message.error ? .error : .info)
    }

    /// A PAM conversation waiting for its user.
    struct Conversation: AuthenticationConversation {
        let conversation: PAMConversation
        let service: String

        func answer(_ answers: [String]) async -> AuthenticationStep {
            PAMLogin.step(await conversation.answer(answers), service: service)
        }

        func cancel() { conversation.cancel() }
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
            DeskpoolError(.accountUnusable, "the password has expired and was not changed")
        case .accessDenied:
            DeskpoolError(.accountUnusable, "the account may not log in here")
        case .invalidInput:
            // The message names the user name, the password or the answers.
            DeskpoolError(.invalidInput, error.message)
        case .conversationRequired:
            DeskpoolError(.unavailable, "the login asks more than a password")
        default:
            // timedOut, serviceError, moduleError: the admin reads PAM's detail in the log.
            DeskpoolError(.unavailable, "logins are not possible right now (\(error.code))")
        }
    }
}
