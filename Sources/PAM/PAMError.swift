/// Why an authentication did not succeed.
///
/// `code` is what callers act on; `message` is for logs (it comes from libpam and its modules
/// and never contains the password). Show users a generic text, not `message`.
public struct PAMError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }

        /// The password (or other credential) was wrong.
        public static let wrongCredentials = Code("wrongCredentials")
        /// PAM does not know the user.
        public static let unknownUser = Code("unknownUser")
        /// The account has expired (e.g. `chage -E`).
        public static let accountExpired = Code("accountExpired")
        /// The account is locked (e.g. `usermod -L`, or too many failed attempts).
        public static let accountLocked = Code("accountLocked")
        /// The password has expired and must be changed before logging in.
        public static let passwordExpired = Code("passwordExpired")
        /// The account may not log in here (e.g. pam_access, pam_time).
        public static let accessDenied = Code("accessDenied")
        /// The PAM service is missing or broken (no service file, a module that cannot load).
        public static let serviceError = Code("serviceError")
        /// A module failed while authenticating (its backend was unreachable, a system error).
        public static let moduleError = Code("moduleError")
        /// The PAM stack did not answer within the configured time.
        public static let timedOut = Code("timedOut")
        /// The stack asked more than the password, and the caller cannot answer (`authenticate`).
        public static let conversationRequired = Code("conversationRequired")
        /// The user name or password cannot be passed to PAM (empty name, NUL bytes, too long).
        public static let invalidInput = Code("invalidInput")

        public var description: String { name }
    }

    public let code: Code
    /// libpam's status (`PAM_AUTH_ERR`, ...) when libpam gave one.
    public let pamStatus: Int32?
    /// libpam's text for the status, plus what modules reported as errors.
    public let message: String

    public init(code: Code, pamStatus: Int32? = nil, message: String) {
        self.code = code
        self.pamStatus = pamStatus
        self.message = message
    }

    public var description: String {
        if let pamStatus { return "PAM \(code) (status \(pamStatus)): \(message)" }
        return "PAM \(code): \(message)"
    }
}
