import Foundation

/// Authenticates users against a PAM service: `pam_authenticate`, then `pam_acct_mgmt`, then
/// the user's groups.
///
/// PAM calls block (a module may ask a remote directory), so each login runs on a dedicated
/// thread, at most `maxConcurrent` at once (more wait up to `maxWait`), and gives up on one
/// after `timeout`. The password is
/// copied into memory that is wiped when the call ends; nothing secret is logged or kept.
public final class PAMAuthenticator: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// The PAM service: the file name under /etc/pam.d.
        public var service: String
        /// Login conversations that may be open at once (each holds a thread, also while it waits
        /// for its user's answers); more wait (within `maxWait`).
        public var maxConcurrent: Int
        /// How long PAM may take for one step (to its first prompt or decision, or from answers
        /// to the next): a hung module or directory.
        public var timeout: Duration
        /// How long a login may wait for one of the `maxConcurrent` slots (a login storm).
        public var maxWait: Duration
        /// Where service files are looked up to refuse a missing service instead of silently
        /// falling back to PAM's `other`. `nil`: where libpam looks (pam_wrapper's directory
        /// when `PAM_WRAPPER=1`, else /etc/pam.d and /usr/lib/pam.d).
        public var serviceDirectories: [String]?
        /// How long the PAM stack waits for the user's answers to a prompt.
        public var answerWindow: Duration
        /// How long a whole conversation may hold its thread (a stack that keeps asking).
        public var conversationLimit: Duration

        public init(service: String = "deskpool", maxConcurrent: Int = 256, timeout: Duration = .seconds(10),
                    maxWait: Duration = .seconds(60), serviceDirectories: [String]? = nil, answerWindow: Duration = .seconds(120),
                    conversationLimit: Duration = .seconds(900)) {
            self.service = service
            self.maxConcurrent = maxConcurrent
            self.timeout = timeout
            self.maxWait = maxWait
            self.serviceDirectories = serviceDirectories
            self.answerWindow = answerWindow
            self.conversationLimit = conversationLimit
        }
    }

    public let configuration: Configuration
    private let runner: BlockingRunner

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        self.runner = BlockingRunner(limit: max(1, configuration.maxConcurrent))
    }

    /// Starts a login conversation for `user` with the PAM service `service` (default: the
    /// configured one): the answer is its first step, a decision or the prompts PAM asks.
    /// - Parameters:
    ///   - password: answers the conversation's first hidden prompt (nil: every prompt goes to
    ///     the user).
    ///   - remoteHost: the client's address, passed to PAM as `PAM_RHOST`.
    public func begin(user: String, password: String?, remoteHost: String? = nil, service: String? = nil) async throws(PAMError) -> PAMStep {
        try Self.validate(user: user, password: password ?? "")
        let service = service ?? configuration.service
        try checkServiceExists(service)
        let conversation = PAMConversation(service: service, user: user, password: password.map(SecretBytes.init),
                                           answerWindow: configuration.answerWindow, stepTimeout: configuration.timeout)
        let (runner, limits) = (self.runner, configuration)
        let asked = ContinuousClock.now
        Task.detached {
            let result = await runner.run(wait: limits.maxWait, timeout: limits.conversationLimit) {
                PAMTransaction.run(conversation, remoteHost: remoteHost)
            }
            guard let result else {
                // Dropped from the queue, or started and then overran the conversation's limit.
                let waited = ContinuousClock.now - asked
                conversation.finish(.failure(PAMError(code: .timedOut, message: waited >= limits.maxWait
                    ? "no free login slot within \(limits.maxWait) (\(limits.maxConcurrent) run at once): too many logins at once"
                    : "PAM service \(service) did not finish within \(limits.conversationLimit)")))
                return
            }
            conversation.finish(result)
        }
        return await conversation.next(timeout: limits.maxWait + limits.timeout)
    }

    /// Checks `password` for `user` and that the account may log in now, for a stack that asks
    /// nothing but the password (a stack that asks more is `conversationRequired`).
    /// - Parameter remoteHost: the client's address, passed to PAM as `PAM_RHOST`.
    public func authenticate(user: String, password: String, remoteHost: String? = nil) async throws(PAMError) -> PAMAccount {
        switch try await begin(user: user, password: password, remoteHost: remoteHost) {
        case .done(let result, _):
            return try result.get()
        case .prompts(let prompts, _, let conversation):
            conversation.cancel()
            throw PAMError(code: .conversationRequired,
                           message: "PAM service \(configuration.service) asked \(prompts.map { "'\($0.text)'" }.joined(separator: ", ")) after the password")
        }
    }

    /// The directories libpam reads service files from, in this process.
    public static var defaultServiceDirectories: [String] {
        let environment = ProcessInfo.processInfo.environment
        if environment["PAM_WRAPPER"] == "1", let directory = environment["PAM_WRAPPER_SERVICE_DIR"] {
            return [directory]
        }
        return ["/etc/pam.d", "/usr/lib/pam.d"]
    }

    private func checkServiceExists(_ service: String) throws(PAMError) {
        let directories = configuration.serviceDirectories ?? Self.defaultServiceDirectories
        let exists = directories.contains { FileManager.default.fileExists(atPath: "\($0)/\(service)") }
        guard exists else {
            throw PAMError(
                code: .serviceError,
                message: "PAM service '\(service)' is not configured: no file \(service) in \(directories.joined(separator: " or "))")
        }
    }

    static func validate(user: String, password: String) throws(PAMError) {
        let userOK = !user.isEmpty && user.utf8.count <= 256 && !user.utf8.contains(0)
            && !user.unicodeScalars.contains { $0.properties.generalCategory == .control } && !user.contains("/")
        guard userOK else {
            throw PAMError(code: .invalidInput, message: "user name is empty, too long or has control characters")
        }
        guard password.utf8.count <= 4096, !password.utf8.contains(0) else {
            throw PAMError(code: .invalidInput, message: "password is too long or has a NUL byte")
        }
    }
}
