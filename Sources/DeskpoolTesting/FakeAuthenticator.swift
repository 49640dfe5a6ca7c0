public import DeskpoolCore
import Synchronization

/// An `Authenticator` with a fixed table of users, passwords and groups, for fast tests of the
/// HTTP layer (the PAM tiers test `PAMLogin` itself). Counts the conversations it was asked to
/// start. An account may ask a one-time code after the password, or a new password (twice)
/// when its password must change, as PAM stacks do; and a pool's factor service asks for the
/// code alone.
public final class FakeAuthenticator: Authenticator {
    public struct Account: Sendable {
        public var password: String
        public var groups: [String]
        /// Set to make the account unusable (expired, locked).
        public var unusable = false
        /// Asked after the password ("Verification code: ", echo off) when set.
        public var code: String?
        /// The password must change: after the password, "New password: " and "Retype new
        /// password: " are asked, and the new one replaces it.
        public var mustChange = false
        public init(password: String, groups: [String] = [], unusable: Bool = false, code: String? = nil, mustChange: Bool = false) {
            self.password = password
            self.groups = groups
            self.unusable = unusable
            self.code = code
            self.mustChange = mustChange
        }
    }

    /// The login service's name, as `PAMLogin` would report it.
    public static let service = "deskpool"
    public static let codePrompt = "Verification code: "

    private let state: Mutex<(accounts: [String: Account], attempts: Int, open: Int)>
    /// The services a pool's factor may name; they ask for the account's code.
    public let factorServices: Set<String>

    public init(_ accounts: [String: Account], factorServices: Set<String> = []) {
        state = Mutex((accounts, 0, 0))
        self.factorServices = factorServices
    }

    /// How many conversations were started.
    public var attempts: Int { state.withLock { $0.attempts } }
    /// Conversations that wait for answers now.
    public var open: Int { state.withLock { $0.open } }

    public func begin(user: String, password: String?, service: String?, from address: String?) async -> AuthenticationStep {
        let service = service ?? Self.service
        let account = state.withLock { state in
            state.attempts += 1
            return state.accounts[user]
        }
        guard service == Self.service || factorServices.contains(service) else {
            return .refused(DeskpoolError(.unavailable, "logins are not possible right now (serviceError)"), messages: [])
        }
        var steps: [Step] = []
        if service == Self.service {
            steps.append(.password)
            if account?.code != nil { steps.append(.code) }
            if account?.mustChange == true { steps.append(.newPassword) }
        } else {
            steps.append(.code)
        }
        let conversation = Conversation(owner: self, user: user, service: service, account: account, steps: steps)
        if let password {
            return await conversation.run(given: password)
        }
        return conversation.next([])
    }

    fileprivate func opened(_ delta: Int) { state.withLock { $0.open += delta } }

    fileprivate func changePassword(of user: String, to password: String) {
        state.withLock { state in
            state.accounts[user]?.password = password
            state.accounts[user]?.mustChange = false
        }
    }

    enum Step: Sendable { case password, code, newPassword }

    /// One scripted conversation: each step asks its prompts; the answers are checked at the
    /// end, as PAM does (a wrong password still asks for the code).
    final class Conversation: AuthenticationConversation, Sendable {
        let owner: FakeAuthenticator
        let user: String
        let service: String
        let account: Account?
        private let progress: Mutex<(steps: [Step], answers: [String], done: Bool)>

        init(owner: FakeAuthenticator, user: String, service: String, account: Account?, steps: [Step]) {
            self.owner = owner
            self.user = user
            self.service = service
            self.account = account
            progress = Mutex((steps, [], false))
        }

        func run(given password: String) async -> AuthenticationStep {
            progress.withLock { progress in
                progress.steps.removeFirst()
                progress.answers.append(password)
            }
            return next([])
        }

        func next(_ messages: [AuthMessage]) -> AuthenticationStep {
            let step = progress.withLock { $0.steps.first }
            switch step {
            case .password: return ask([AuthPrompt(text: "Password: ", echo: false)], messages)
            case .code: return ask([AuthPrompt(text: FakeAuthenticator.codePrompt, echo: false)], messages)
            case .newPassword:
                return ask([AuthPrompt(text: "New password: ", echo: false), AuthPrompt(text: "Retype new password: ", echo: false)],
                           messages + [AuthMessage(text: "You are required to change your password immediately.", kind: .info)])
            case nil: return decide()
            }
        }

        private func ask(_ prompts: [AuthPrompt], _ messages: [AuthMessage]) -> AuthenticationStep {
            owner.opened(1)
            return .asking(prompts: prompts, messages: messages, conversation: self)
        }

        func answer(_ answers: [String]) async -> AuthenticationStep {
            let step = progress.withLock { progress -> Step? in
                guard !progress.done, let step = progress.steps.first else { return nil }
                owner.opened(-1)
                progress.steps.removeFirst()
                progress.answers += answers
                return step
            }
            guard let step else { return .refused(DeskpoolError(.unavailable, "the conversation ended"), messages: []) }
            if step == .newPassword, answers.count == 2, answers[0] != answers[1] {
                return .refused(DeskpoolError(.accountUnusable, "the password has expired and was not changed"),
                                messages: [AuthMessage(text: "Sorry, passwords do not match.", kind: .error)])
            }
            return next([])
        }

        func cancel() {
            let wasOpen = progress.withLock { progress -> Bool in
                defer { progress.done = true }
                return !progress.done && !progress.steps.isEmpty
            }
            if wasOpen { owner.opened(-1) }
        }

        private func decide() -> AuthenticationStep {
            let answers = progress.withLock { progress -> [String] in
                progress.done = true
                return progress.answers
            }
            guard let account, service == FakeAuthenticator.service || account.code != nil else { return .refused(DeskpoolError(.unauthenticated, "wrong user name or password"), messages: []) }
            var expected: [String] = []
            if service == FakeAuthenticator.service { expected.append(account.password) }
            if let code = account.code { expected.append(code) }
            guard Array(answers.prefix(expected.count)) == expected else {
                return .refused(DeskpoolError(.unauthenticated, "wrong user name or password"), messages: [])
            }
            guard !account.unusable else { return .refused(DeskpoolError(.accountUnusable, "the account is locked; ask an administrator"), messages: []) }
            if account.mustChange, service == FakeAuthenticator.service, let new = answers.last {
                owner.changePassword(of: user, to: new)
            }
            return .authenticated(SessionBroker.Principal(user: user, groups: account.groups), service: service, messages: [])
        }
    }
}
