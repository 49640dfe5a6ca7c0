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
        /// Logins that may run at once; more wait (within `maxWait`).
        public var maxConcurrent: Int
        /// How long one PAM conversation may take once it runs (a hung module or directory).
        public var timeout: Duration
        /// How long a login may wait for one of the `maxConcurrent` slots (a login storm).
        public var maxWait: Duration
        /// Where service files are looked up to refuse a missing service instead of silently
        /// falling back to PAM's `other`. `nil`: where libpam looks (pam_wrapper's directory
        /// when `PAM_WRAPPER=1`, else /etc/pam.d and /usr/lib/pam.d).
        public var serviceDirectories: [String]?

        public init(service: String = "deskpool", maxConcurrent: Int = 8, timeout: Duration = .seconds(10),
                    maxWait: Duration = .seconds(60), serviceDirectories: [String]? = nil) {
            self.service = service
            self.maxConcurrent = maxConcurrent
            self.timeout = timeout
            self.maxWait = maxWait
            self.serviceDirectories = serviceDirectories
        }
    }

    public let configuration: Configuration
    private let runner: BlockingRunner

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        self.runner = BlockingRunner(limit: max(1, configuration.maxConcurrent))
    }

    /// Checks `password` for `user` and that the account may log in now.
    /// - Parameter remoteHost: the client's address, passed to PAM as `PAM_RHOST`.
    public func authenticate(user: String, password: String, remoteHost: String? = nil) async throws(PAMError) -> PAMAccount {
        try Self.validate(user: user, password: password)
        try checkServiceExists()
        let secret = SecretBytes(password)
        let service = configuration.service
        let asked = ContinuousClock.now
        let result = await runner.run(wait: configuration.maxWait, timeout: configuration.timeout) {
            PAMTransaction.run(service: service, user: user, password: secret, remoteHost: remoteHost)
        }
        guard let result else {
            // Dropped from the queue, or started and then overran its timeout.
            let waited = ContinuousClock.now - asked
            throw PAMError(code: .timedOut, message: waited >= configuration.maxWait
                ? "no free login slot within \(configuration.maxWait) (\(configuration.maxConcurrent) run at once): too many logins at once"
                : "PAM service \(service) did not answer within \(configuration.timeout)")
        }
        return try result.get()
    }

    /// The directories libpam reads service files from, in this process.
    public static var defaultServiceDirectories: [String] {
        let environment = ProcessInfo.processInfo.environment
        if environment["PAM_WRAPPER"] == "1", let directory = environment["PAM_WRAPPER_SERVICE_DIR"] {
            return [directory]
        }
        return ["/etc/pam.d", "/usr/lib/pam.d"]
    }

    private func checkServiceExists() throws(PAMError) {
        let directories = configuration.serviceDirectories ?? Self.defaultServiceDirectories
        let service = configuration.service
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
