public import DeskpoolCore
public import Foundation

/// Logins: the throttle first (a user that failed too often from an address, or an address
/// that failed too often, is refused without PAM being asked), then a place in line, then the
/// authenticator's conversation; failures and successes feed the throttle.
///
/// A login is a conversation of any length: `begin`, then `answer` for each step that asks the
/// user something. The throttle counts a conversation, not its steps: a conversation that ends
/// in failure is one failure, and each step first checks the throttle again (a lockout through
/// another conversation ends this one too). At most `maxOpenConversationsPerAddress`
/// conversations per client address wait for their user's answers at once.
///
/// At most one step per user name is in flight, and at most `maxConcurrentPerAddress` per
/// client address; others wait in line (bounded per user and per address; beyond, `busy`), and
/// each re-checks the throttle when its turn comes, so a burst of wrong passwords for one user
/// reaches the authenticator once, not once per request. Every failed login is answered no
/// sooner than `failureDelay` after its step began, whatever the reason.
public actor LoginGate {
    /// The gate's bounds (`http.loginThrottle`).
    public struct Limits: Sendable, Hashable {
        public var maxConcurrentPerAddress = 64
        public var maxWaitingPerAddress = 512
        public var maxWaitingPerUser = 8
        public var failureDelay: Duration = .seconds(2)
        public var maxOpenConversationsPerAddress = 16
        public init() {}

        public init(_ configuration: LoginThrottleConfiguration) {
            maxConcurrentPerAddress = configuration.maxConcurrentPerAddress
            maxWaitingPerAddress = configuration.maxWaitingPerAddress
            maxWaitingPerUser = configuration.maxWaitingPerUser
            failureDelay = .milliseconds(configuration.failureDelayMilliseconds)
            maxOpenConversationsPerAddress = configuration.maxOpenConversationsPerAddress
        }
    }

    /// A refused login: why (for the audit and the server's log), and what the client is told.
    public struct Refusal: Error, Sendable {
        public enum Reason: Sendable {
            /// Not a user name; only its length is kept.
            case invalidName(bytes: Int)
            /// The throttle refused: `key` is backed off or locked. `report`: refused attempts of
            /// that key to record now (nil: counted, folded into a later record).
            case throttled(key: LoginThrottle.Key, locked: Bool, report: Int?)
            /// Too many logins waiting for this user name or address, or too many conversations
            /// open from the address.
            case busy
            /// The conversation is not open here (it ended, or timed out).
            case ended
            /// The authenticator's answer (wrong password, unknown user, unusable account ...).
            case failed(DeskpoolError)
        }

        public var reason: Reason
        /// When a throttled or busy client may try again.
        public var retryAfter: Date?
        /// The lockout this failure started, if it did (to audit once).
        public var lockStarted: LoginThrottle.Lock?
        /// What the authentication stack told the user before it refused.
        public var messages: [AuthMessage]

        public init(reason: Reason, retryAfter: Date? = nil, lockStarted: LoginThrottle.Lock? = nil, messages: [AuthMessage] = []) {
            self.reason = reason
            self.retryAfter = retryAfter
            self.lockStarted = lockStarted
            self.messages = messages
        }

        /// The one answer to every failed login: a wrong password, an unknown user, a locked
        /// or expired account all read alike (the reason goes to the audit and the log only).
        public static let failedLogin = DeskpoolError(.unauthenticated, "wrong user name or password, or the account may not log in")

        /// What the client is told.
        public var error: DeskpoolError {
            switch reason {
            case .invalidName: DeskpoolError(.invalidInput, "must be a user name (letters, digits, '.', '_' or '-')", field: "user")
            case .throttled: DeskpoolError(.throttled, "too many failed logins; try again later")
            case .busy: DeskpoolError(.throttled, "too many logins at once; try again shortly")
            case .ended: DeskpoolError(.challengeExpired, "this login has expired or was answered already; log in again")
            case .failed(let error) where error.code == .unauthenticated || error.code == .accountUnusable: Self.failedLogin
            case .failed(let error): error
            }
        }
    }

    struct Waiter {
        var user: String
        var address: String
        var continuation: CheckedContinuation<Void, Never>
    }

    private var throttle: LoginThrottle
    /// Where failures are counted for every broker on the store; nil: this process only.
    let shared: (any Store)?
    let authenticator: any Authenticator
    let limits: Limits
    let now: @Sendable () -> Date
    private var usersInFlight: Set<String> = []
    private var addressesInFlight: [String: Int] = [:]
    private var waiters: [Waiter] = []
    private var waitingUsers: [String: Int] = [:]
    private var waitingAddresses: [String: Int] = [:]
    /// Conversations waiting for their user's answers, by id.
    private var open: [Int: Open] = [:]
    private var lastID = 0

    /// A conversation waiting for its user.
    struct Open {
        var user: String
        var address: String?
        var prompts: Int
        var conversation: any AuthenticationConversation
    }

    /// A step of a login that did not fail.
    public enum Step: Sendable {
        /// The user is in: the principal as the authenticator gave it, and the service that said so.
        case authenticated(SessionBroker.Principal, service: String, messages: [AuthMessage])
        /// The conversation `id` waits for the user's answers to `prompts`.
        case asking(id: Int, prompts: [AuthPrompt], messages: [AuthMessage])
    }

    public init(authenticator: any Authenticator, policy: LoginThrottle.Policy, limits: Limits = Limits(), shared: (any Store)? = nil,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.authenticator = authenticator
        self.shared = shared
        self.throttle = LoginThrottle(policy: policy)
        self.limits = limits
        self.now = now
    }

    /// Starts a login conversation (see `Authenticator.begin`).
    public func begin(user: String, password: String?, service: String? = nil, address: String?) async throws(Refusal) -> Step {
        let started = ContinuousClock.now
        guard DeskpoolConfiguration.isSafeName(user) else {
            try await refuseIfThrottled(user: nil, address: address)
            let lock = await fail(user: nil, address: address)
            await delayFailure(since: started)
            throw Refusal(reason: .invalidName(bytes: user.utf8.count), lockStarted: lock)
        }
        try await takePlace(user: user, address: address)
        let step = await authenticator.begin(user: user, password: password, service: service, from: address)
        return try await conclude(step, user: user, address: address, started: started)
    }

    /// Answers the prompts of conversation `id`, one answer each, in order: the next step.
    public func answer(_ id: Int, answers: [String]) async throws(Refusal) -> Step {
        let started = ContinuousClock.now
        guard let conversation = open.removeValue(forKey: id) else { throw Refusal(reason: .ended) }
        guard answers.count == conversation.prompts else {
            conversation.conversation.cancel()
            throw Refusal(reason: .failed(DeskpoolError(.invalidInput, "\(conversation.prompts) answer(s) expected, \(answers.count) given", field: "answers")))
        }
        do throws(Refusal) {
            try await takePlace(user: conversation.user, address: conversation.address)
        } catch {
            conversation.conversation.cancel()
            throw error
        }
        let step = await conversation.conversation.answer(answers)
        return try await conclude(step, user: conversation.user, address: conversation.address, started: started)
    }

    /// Ends conversation `id` unanswered (its challenge expired); nothing when it is not open.
    public func cancel(_ id: Int) {
        open.removeValue(forKey: id)?.conversation.cancel()
    }

    /// A place in line for a step of `user`'s login, after the throttle (again once the turn
    /// came: actors are reentrant, and while this login waited another for the same user may
    /// have failed; its backoff applies to this one too).
    private func takePlace(user: String, address: String?) async throws(Refusal) {
        let place = address ?? LoginThrottle.unknownAddress
        try await refuseIfThrottled(user: user, address: address)
        guard await enterLine(user: user, address: place) else {
            throw Refusal(reason: .busy, retryAfter: now().addingTimeInterval(1))
        }
        do throws(Refusal) {
            try await refuseIfThrottled(user: user, address: address)
        } catch {
            leave(user: user, address: place)
            throw error
        }
    }

    /// Gives the place back and books the step's outcome: a success clears the throttle, a
    /// failure counts once, and a question keeps the conversation open.
    private func conclude(_ step: AuthenticationStep, user: String, address: String?, started: ContinuousClock.Instant) async throws(Refusal) -> Step {
        let place = address ?? LoginThrottle.unknownAddress
        switch step {
        case .authenticated(var principal, let service, let messages):
            // Cleared for every broker, when there was anything: the counts were read from the
            // store just before, so a login with no failures behind it writes nothing here.
            if throttle.succeeded(user: user, address: address) {
                _ = try? await shared?.clearLoginFailures(keys: LoginThrottle.keys(user: user, address: address), user: nil, address: nil,
                                                          before: nil)
            }
            leave(user: user, address: place)
            principal.factors = [service]
            return .authenticated(principal, service: service, messages: messages)
        case .asking(let prompts, let messages, let conversation):
            // Each waiting conversation holds a PAM thread: a bound per address (a password-only
            // login never counts against it).
            guard open.values.count(where: { ($0.address ?? LoginThrottle.unknownAddress) == place }) < limits.maxOpenConversationsPerAddress else {
                conversation.cancel()
                leave(user: user, address: place)
                throw Refusal(reason: .busy, retryAfter: now().addingTimeInterval(5))
            }
            lastID += 1
            open[lastID] = Open(user: user, address: address, prompts: prompts.count, conversation: conversation)
            leave(user: user, address: place)
            return .asking(id: lastID, prompts: prompts, messages: messages)
        case .refused(let error, let messages):
            var lock: LoginThrottle.Lock?
            if error.code == .unauthenticated || error.code == .accountUnusable {
                lock = await fail(user: user, address: address)
            }
            // The failure is recorded before the next in line checks the throttle.
            leave(user: user, address: place)
            await delayFailure(since: started)
            throw Refusal(reason: .failed(error), lockStarted: lock, messages: messages)
        }
    }

    /// The user names and addresses that are backed off or locked now (through any broker).
    public func locks() async -> [LoginThrottle.Lock] {
        if let shared, let counts = try? await shared.loginFailures(since: now().addingTimeInterval(-throttle.policy.window)) {
            throttle.adopt(counts, for: throttle.keys)
        }
        return throttle.locks(now: now())
    }

    /// Clears the throttle's records (see `LoginThrottle.unlock`), here and for every broker;
    /// returns how many went.
    public func unlock(user: String?, address: String?) async -> Int {
        let here = throttle.unlock(user: user, address: address)
        guard let shared, let cleared = try? await shared.clearLoginFailures(keys: [], user: user, address: address, before: nil) else { return here }
        return max(here, cleared)
    }

    /// Logins in flight and waiting in line (for tests and metrics).
    public var load: (inFlight: Int, waiting: Int) { (usersInFlight.count, waiters.count) }

    // MARK: - Throttle and line

    /// Refuses when the throttle holds this login back, with the counts every broker recorded
    /// (a store that does not answer leaves this broker's own counts).
    private func refuseIfThrottled(user: String?, address: String?) async throws(Refusal) {
        let keys = LoginThrottle.keys(user: user, address: address)
        if let shared, let counts = try? await shared.loginFailures(keys: keys) {
            throttle.adopt(counts, for: keys)
        }
        if case .refuse(let key, let until, let locked, let report) = throttle.attempt(user: user, address: address, now: now()) {
            throw Refusal(reason: .throttled(key: key, locked: locked, report: report), retryAfter: until)
        }
    }

    /// Counts a failure here and for every broker; returns the lock it started, if any.
    private func fail(user: String?, address: String?) async -> LoginThrottle.Lock? {
        let at = now()
        var counts: [LoginThrottle.Key: Int] = [:]
        if let shared, let recorded = try? await shared.recordLoginFailure(keys: LoginThrottle.keys(user: user, address: address), at: at,
                                                                           window: throttle.policy.window) {
            for entry in recorded { counts[entry.key] = entry.failures }
            // Counts past the window go with failures (a spray of names cannot grow the table
            // without bound); a failed login is answered after the failure delay anyway.
            _ = try? await shared.clearLoginFailures(keys: [], user: nil, address: nil, before: at.addingTimeInterval(-throttle.policy.window))
        }
        return throttle.failed(user: user, address: address, now: at, shared: counts)
    }

    /// Takes a place among the logins in flight, waiting if needed; false when the line for
    /// this user or address is full.
    private func enterLine(user: String, address: String) async -> Bool {
        if canRun(user: user, address: address) {
            take(user: user, address: address)
            return true
        }
        guard waitingUsers[user, default: 0] < limits.maxWaitingPerUser,
              waitingAddresses[address, default: 0] < limits.maxWaitingPerAddress else { return false }
        waitingUsers[user, default: 0] += 1
        waitingAddresses[address, default: 0] += 1
        // `leave` takes the place on this login's behalf before it resumes it.
        await withCheckedContinuation { waiters.append(Waiter(user: user, address: address, continuation: $0)) }
        return true
    }

    private func canRun(user: String, address: String) -> Bool {
        !usersInFlight.contains(user) && addressesInFlight[address, default: 0] < limits.maxConcurrentPerAddress
    }

    private func take(user: String, address: String) {
        usersInFlight.insert(user)
        addressesInFlight[address, default: 0] += 1
    }

    /// Gives the place back and lets in, first come first served, the waiting logins that can
    /// run now.
    private func leave(user: String, address: String) {
        usersInFlight.remove(user)
        let left = addressesInFlight[address, default: 1] - 1
        addressesInFlight[address] = left > 0 ? left : nil
        var index = 0
        while index < waiters.count {
            let waiter = waiters[index]
            guard canRun(user: waiter.user, address: waiter.address) else {
                index += 1
                continue
            }
            waiters.remove(at: index)
            Self.decrement(&waitingUsers, waiter.user)
            Self.decrement(&waitingAddresses, waiter.address)
            take(user: waiter.user, address: waiter.address)
            waiter.continuation.resume()
        }
    }

    private static func decrement(_ counts: inout [String: Int], _ key: String) {
        let left = counts[key, default: 1] - 1
        counts[key] = left > 0 ? left : nil
    }

    private func delayFailure(since started: ContinuousClock.Instant) async {
        try? await Task.sleep(until: started + limits.failureDelay, clock: .continuous)
    }
}
