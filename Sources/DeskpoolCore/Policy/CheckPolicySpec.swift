/// `kind: CheckPolicy`: security and compliance checks over each selected desktop's live
/// definition and state, and inside the guest through its agent; a report per desktop with
/// evidence, and an optional remediation for the desktops that fail.
public struct CheckPolicySpec: Sendable, Hashable {
    public var selector: PoolSelector
    public var checks: [Check]
    public var remediation: Remediation?

    public init(selector: PoolSelector, checks: [Check], remediation: Remediation? = nil) {
        self.selector = selector
        self.checks = checks
        self.remediation = remediation
    }

    public enum Remediation: Sendable, Hashable {
        /// Apply the named ConfigPolicy (from the same directory or the broker) to the failing desktops.
        case configPolicy(String)
        /// Refresh the failing desktops (re-clone from the pool's version and settings).
        case refresh
    }
}

/// One check, with a name for reports (defaults to the kind).
public struct Check: Sendable, Hashable {
    public enum Rule: Sendable, Hashable {
        /// The SPICE console has a password, and it expires at most `maxValiditySeconds` from now.
        case consolePassword(maxValiditySeconds: Int)
        /// SPICE channels require TLS.
        case tlsRequired
        /// None of these devices or channels is present: `usbredir`, `smartcard`, `audio`, `clipboard`.
        case forbiddenDevices([String])
        /// The desktop's template version is the pool's current one, or at most `within` behind it.
        case templateVersion(within: Int)
        /// The guest agent answers.
        case guestAgent
        /// The desktop has exactly its own disk (the linked clone) and nothing else.
        case noUnexpectedDisks
        /// The definition matches the pool's applied configuration (no drift).
        case configuration
        /// A command in the guest exits with `exitCode` and (if given) its output matches `outputPattern`.
        case guestCommand(GuestCommand, exitCode: Int, outputPattern: String?, timeoutSeconds: Int)
        /// A file in the guest has this SHA-256 (hex).
        case fileHash(path: String, sha256: String)
    }

    public var name: String
    public var rule: Rule

    public init(name: String, rule: Rule) {
        self.name = name
        self.rule = rule
    }
}
