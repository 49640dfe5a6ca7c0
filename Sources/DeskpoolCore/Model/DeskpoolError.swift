/// A broker operation that cannot be done, with a stable code and a message safe to show an
/// admin (it never holds a password or console ticket). `field` names the offending input
/// when the caller's input is at fault.
public struct DeskpoolError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        /// A definition or request field is missing, malformed or out of range.
        public static let invalidInput = Code("invalidInput")
        /// The named template, version, pool, host or desktop does not exist.
        public static let notFound = Code("notFound")
        /// The name is already taken.
        public static let alreadyExists = Code("alreadyExists")
        /// A template version still used by desktops or pinned by a pool.
        public static let versionInUse = Code("versionInUse")
        /// The user is not entitled to the pool.
        public static let notEntitled = Code("notEntitled")
        /// The record changed under us (another request or broker won the race).
        public static let conflict = Code("conflict")
        /// The hypervisor refused or failed an operation.
        public static let hypervisorFailed = Code("hypervisorFailed")
        /// The host is not connected now (libvirtd restarting, stopped or frozen, or the host
        /// down): nothing was done; the broker reconnects by itself, retry later.
        public static let hypervisorUnavailable = Code("hypervisorUnavailable")
        /// The store failed (disk full, corrupt file, lost database).
        public static let storeFailed = Code("storeFailed")
        /// Wrong user name or password (which of the two is never said).
        public static let unauthenticated = Code("unauthenticated")
        /// The account may not log in now (expired, locked, password must be changed).
        public static let accountUnusable = Code("accountUnusable")
        /// The pool asks for a further login (its `factor`, a PAM service) this login has not
        /// passed yet.
        public static let factorRequired = Code("factorRequired")
        /// The login challenge is unknown, expired or was answered already: log in again.
        public static let challengeExpired = Code("challengeExpired")
        /// Too many failed logins for this user or address: wait.
        public static let throttled = Code("throttled")
        /// A service the broker needs (PAM) did not answer or failed.
        public static let unavailable = Code("unavailable")
        /// An input (an image, its virtual disk) is larger than a configured limit.
        public static let tooLarge = Code("tooLarge")
        /// This broker no longer holds the lease its write was made under (another replica
        /// took the work over): the write was refused, nothing changed.
        public static let leaseLost = Code("leaseLost")
        public var description: String { name }

        static let all: [Code] = [.invalidInput, .notFound, .alreadyExists, .versionInUse, .notEntitled, .conflict, .hypervisorFailed,
                                  .hypervisorUnavailable, .storeFailed, .unauthenticated, .accountUnusable, .factorRequired, .challengeExpired,
                                  .throttled, .unavailable, .tooLarge, .leaseLost]

        /// The code with this name, if there is one.
        public static func named(_ name: String) -> Code? { all.first { $0.name == name } }
    }

    public let code: Code
    public let message: String
    public var field: String?
    /// When to try again, for errors that pass (`hypervisorUnavailable`, `storeFailed`):
    /// answered as `Retry-After`.
    public var retryAfterSeconds: Int?

    public init(_ code: Code, _ message: String, field: String? = nil, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String {
        field.map { "\($0): \(message)" } ?? message
    }
}
