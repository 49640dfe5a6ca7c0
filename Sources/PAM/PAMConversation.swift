import Foundation
import Synchronization

/// A question of the PAM stack to the user: its text, and whether the answer may be shown as
/// it is typed (`echo`; off for passwords and codes).
public struct PAMPrompt: Sendable, Hashable, Codable {
    public let text: String
    public let echo: Bool
    public init(text: String, echo: Bool) {
        self.text = text
        self.echo = echo
    }
}

/// What a module told the user on the way (`PAM_TEXT_INFO`, or `PAM_ERROR_MSG` when `error`).
public struct PAMMessage: Sendable, Hashable, Codable {
    public let text: String
    public let error: Bool
    public init(text: String, error: Bool) {
        self.text = text
        self.error = error
    }
}

/// Where a PAM conversation stands: waiting for the user's answers to `prompts`, or decided.
/// `messages` are what the modules said since the previous step.
public enum PAMStep: Sendable {
    case prompts([PAMPrompt], messages: [PAMMessage], conversation: PAMConversation)
    case done(Result<PAMAccount, PAMError>, messages: [PAMMessage])
}

/// One PAM transaction that talks with its user: it runs on a dedicated thread (`pam_start`,
/// `pam_authenticate`, `pam_acct_mgmt`, `pam_chauthtok` when the password must change, `pam_end`),
/// and when a module asks something the thread waits, up to `answerWindow`, for `answer`.
///
/// The password given at the start answers the conversation's first hidden prompt; every other
/// prompt goes to the user. Answers are copied into memory that is wiped once PAM has them.
public final class PAMConversation: Sendable {
    /// Bounds on the answers a user sends back (a prompt's answer is a password, a code, a PIN).
    public static let maxAnswerBytes = 1024

    private struct State {
        var messages: [PAMMessage] = []
        /// Every error message of the conversation, for the failure's log text.
        var errorsSaid: [String] = []
        /// The prompts the thread waits for answers to.
        var asking: [PAMPrompt]?
        var answers: [SecretBytes]?
        var outcome: Result<PAMAccount, PAMError>?
        /// A step that happened while nobody waited for it.
        var pending: PAMStep?
        var waiter: CheckedContinuation<PAMStep, Never>?
        var waiterID = 0
        var cancelled = false
        /// Whether the given password answered a prompt already.
        var passwordUsed = false
    }

    private let state = Mutex(State())
    private let answered = DispatchSemaphore(value: 0)
    let user: String
    let password: SecretBytes?
    let answerWindow: Duration
    let stepTimeout: Duration
    let service: String

    init(service: String, user: String, password: SecretBytes?, answerWindow: Duration, stepTimeout: Duration) {
        self.service = service
        self.user = user
        self.password = password
        self.answerWindow = answerWindow
        self.stepTimeout = stepTimeout
    }

    /// The prompts waiting for answers now (nil when none).
    public var prompts: [PAMPrompt]? { state.withLock { $0.asking } }

    /// Gives the answers to the prompts of the last step, in order, and waits for the next step
    /// (up to the step timeout).
    public func answer(_ answers: [String]) async -> PAMStep {
        let accepted = state.withLock { state -> PAMError? in
            guard !state.cancelled else {
                return PAMError(code: .timedOut, message: "the conversation ended (no answer within \(answerWindow), or cancelled)")
            }
            guard let asking = state.asking, state.answers == nil else {
                return PAMError(code: .invalidInput, message: "the conversation is not waiting for answers")
            }
            guard answers.count == asking.count else {
                return PAMError(code: .invalidInput, message: "\(asking.count) answer(s) expected, \(answers.count) given")
            }
            guard answers.allSatisfy({ $0.utf8.count <= Self.maxAnswerBytes && !$0.utf8.contains(0) }) else {
                return PAMError(code: .invalidInput, message: "an answer is longer than \(Self.maxAnswerBytes) bytes or has a NUL byte")
            }
            state.answers = answers.map(SecretBytes.init)
            state.asking = nil
            return nil
        }
        if let accepted { return .done(.failure(accepted), messages: []) }
        answered.signal()
        return await next(timeout: stepTimeout)
    }

    /// Ends the conversation: the thread's pending prompt gets no answer, so PAM fails.
    public func cancel() {
        let wake = state.withLock { state -> Bool in
            defer { state.cancelled = true }
            return !state.cancelled && state.asking != nil
        }
        if wake { answered.signal() }
    }

    /// The next step: what happened since the last one, or what happens within `timeout`.
    /// At the deadline the conversation is cancelled and the step is a `timedOut` failure.
    func next(timeout: Duration) async -> PAMStep {
        let id = state.withLock { state -> Int in
            state.waiterID += 1
            return state.waiterID
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            expire(waiter: id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> PAMStep? in
                if let pending = state.pending {
                    state.pending = nil
                    return pending
                }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func expire(waiter id: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<PAMStep, Never>? in
            guard state.waiterID == id, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        guard let waiter else { return }
        cancel()
        waiter.resume(returning: .done(.failure(PAMError(code: .timedOut, message: "PAM service \(service) did not answer within \(stepTimeout)")),
                                       messages: []))
    }

    /// Hands a step to whoever waits for it, or keeps it for the next `next`.
    private func publish(_ make: (inout State) -> PAMStep) {
        let waiter = state.withLock { state -> (CheckedContinuation<PAMStep, Never>, PAMStep)? in
            let step = make(&state)
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, step)
            }
            state.pending = step
            return nil
        }
        if let (waiter, step) = waiter { waiter.resume(returning: step) }
    }

    // MARK: - On the PAM thread

    /// The transaction's end (from the thread, or the runner when the thread never started).
    func finish(_ outcome: Result<PAMAccount, PAMError>) {
        publish { state in
            state.outcome = outcome
            state.asking = nil
            let messages = state.messages
            state.messages = []
            return .done(outcome, messages: messages)
        }
    }

    /// A message a module sent.
    func received(_ message: PAMMessage) {
        state.withLock { state in
            state.messages.append(message)
            if message.error { state.errorsSaid.append(message.text) }
        }
    }

    /// The error messages modules sent in the whole conversation.
    var errorsSaid: [String] { state.withLock { $0.errorsSaid } }

    /// Whether the given password answers this hidden prompt (only the first one is).
    func takePassword() -> SecretBytes? {
        state.withLock { state -> SecretBytes? in
            guard let password, !state.passwordUsed else { return nil }
            state.passwordUsed = true
            return password
        }
    }

    /// Asks the user `prompts` and waits for the answers; nil when none came within the answer
    /// window or the conversation was cancelled.
    func ask(_ prompts: [PAMPrompt]) -> [SecretBytes]? {
        guard !state.withLock({ $0.cancelled }) else { return nil }
        publish { state in
            state.asking = prompts
            state.answers = nil
            let messages = state.messages
            state.messages = []
            return .prompts(prompts, messages: messages, conversation: self)
        }
        let deadline = DispatchTime.now() + BlockingRunner.dispatchTime(answerWindow)
        let woke = answered.wait(timeout: deadline) == .success
        return state.withLock { state -> [SecretBytes]? in
            defer {
                state.answers = nil
                state.asking = nil
            }
            guard woke, !state.cancelled else {
                state.cancelled = true
                return nil
            }
            return state.answers
        }
    }
}
