public import Foundation

/// One desktop's part in a rollout: its wave, where it is, what it moves from and to, and
/// what happened (a reason, a command's output, check evidence).
public struct RolloutItem: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        /// Its wave has not reached it.
        case pending
        /// In use: it is changed when its user logs off (or at the forced logoff).
        case waiting
        /// Being changed (refreshing, restarting, or a command running).
        case inProgress
        /// On the new version or configuration, healthy (or its command or check ran).
        case done
        case failed
        /// Not changed, with the reason (already current, gone, rollout stopped).
        case skipped
        /// Being taken back to the old version or configuration.
        case rollingBack
        /// Back on the old version or configuration.
        case rolledBack
        /// Its in-guest command was running when the broker stopped: the result is unknown
        /// (it may have had effects), so it is not run again.
        case interrupted

        /// Nothing more will happen to it in this rollout.
        public var isSettled: Bool { self == .done || self == .failed || self == .skipped || self == .rolledBack || self == .interrupted }
    }

    public var rollout: String
    public var desktopID: String
    public var desktop: String
    public var pool: String
    /// The position in the rollout's order (waves are consecutive runs of it).
    public var position: Int
    public var wave: Int
    public var status: Status
    /// What the desktop was on ("v1", "generation 3") and moves to.
    public var from: String
    public var to: String
    /// Who was using it when the rollout reached it.
    public var user: String?
    public var detail: String?
    public var startedAt: Date?
    /// When its user was warned of a forced logoff.
    public var warnedAt: Date?
    public var finishedAt: Date?
    /// How the change reaches the desktop (from the plan).
    public var method: PolicyPlan.Method?
    /// The desktop's incarnation when its definition was changed (ConfigPolicy): a new
    /// incarnation (a refresh at logoff) means the guest runs the new definition.
    public var incarnation: Int?
    /// A guest command's result (GuestCommandPolicy, or a check's command).
    public var result: GuestCommandResult?
    /// Check results, one per check (CheckPolicy).
    public var checks: [CheckOutcome]?
    /// What the CheckPolicy's `refresh` remediation did to this failed desktop, recorded in the
    /// same transaction as the desktop's own change: a remediation interrupted by a broker stop
    /// goes on with the desktops not yet marked, and never refreshes one twice.
    public var remediation: Remediation?

    public enum Remediation: String, Sendable, Hashable, Codable {
        /// An idle desktop, cloned again now.
        case refreshing
        /// A desktop in use, cloned again when its user logs off.
        case refreshingAtLogoff
        /// A dedicated desktop with a user: its disk holds the user's data, it is not refreshed.
        case kept
    }

    public init(rollout: String, desktopID: String, desktop: String, pool: String, position: Int, wave: Int, status: Status = .pending,
                from: String, to: String, user: String? = nil, detail: String? = nil, method: PolicyPlan.Method? = nil) {
        self.rollout = rollout
        self.desktopID = desktopID
        self.desktop = desktop
        self.pool = pool
        self.position = position
        self.wave = wave
        self.status = status
        self.from = from
        self.to = to
        self.user = user
        self.detail = detail
        self.method = method
    }
}

/// One check's verdict on one desktop, with the evidence (never a secret).
public struct CheckOutcome: Sendable, Hashable, Codable {
    public var check: String
    public var passed: Bool
    public var evidence: String

    public init(check: String, passed: Bool, evidence: String) {
        self.check = check
        self.passed = passed
        self.evidence = evidence
    }
}
