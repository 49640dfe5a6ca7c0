/// `kind: UpdatePolicy`: move the selected pools to a template version in waves.
public struct UpdatePolicySpec: Sendable, Hashable {
    public var selector: PoolSelector
    /// `latest` (the newest published version when the plan is made) or a version number.
    public var version: PoolSpec.VersionChoice
    public var logoff: LogoffMode
    public var strategy: RolloutStrategy
    /// What happens to dedicated desktops that have a user: their disk holds that user's data,
    /// which a new clone destroys. Default `keep`.
    public var dedicated: DedicatedUpdate

    public init(selector: PoolSelector, version: PoolSpec.VersionChoice = .latest, logoff: LogoffMode = .waitForLogoff,
                strategy: RolloutStrategy = RolloutStrategy(), dedicated: DedicatedUpdate = .keep) {
        self.selector = selector
        self.version = version
        self.logoff = logoff
        self.strategy = strategy
        self.dedicated = dedicated
    }
}

/// `dedicated:` of an UpdatePolicy: whether dedicated desktops with a user are re-cloned.
public enum DedicatedUpdate: String, Sendable, Hashable, CaseIterable {
    /// They stay on their version; the plan and the rollout list them as skipped, with why.
    case keep
    /// They are re-cloned like the others: their users' data is destroyed (the plan says so).
    case replace

    /// Why a dedicated desktop is left alone under `keep`.
    public static let keptReason = "dedicated desktop: its disk holds its user's data; set dedicated: replace to re-clone it"
}

/// What happens to a desktop that is in use when its turn comes.
public enum LogoffMode: Sendable, Hashable {
    /// It is changed when its user logs off; the rollout waits (the wave counts it as pending).
    case waitForLogoff
    /// The user is warned on their desktop (through the guest agent) with `message`, and
    /// logged off `after` seconds later.
    case forceAfter(seconds: Int, message: String)

    public static let defaultWarning = "This desktop will be updated: you will be logged off in {minutes} minute(s). Save your work."
}

/// A count of desktops, absolute or a percentage of a whole (rounded up, at least 1 when the
/// percentage is above 0).
public enum DesktopCount: Sendable, Hashable, CustomStringConvertible {
    case count(Int)
    case percent(Int)

    public func resolve(of total: Int) -> Int {
        switch self {
        case .count(let n): return Swift.min(n, total)
        case .percent(let p):
            guard p > 0, total > 0 else { return 0 }
            return Swift.min(total, Swift.max(1, (total * p + 99) / 100))
        }
    }

    public var description: String {
        switch self {
        case .count(let n): String(n)
        case .percent(let p): "\(p)%"
        }
    }
}

/// How a rollout moves through desktops: a canary wave first, then waves of `waveSize` each;
/// at most `maxUnavailable` desktops out of service at once; only inside the maintenance
/// window (if any); each wave must pass the health gate; `failureThreshold` failed desktops
/// halt the rollout, and with `autoRollback` the updated desktops go back.
public struct RolloutStrategy: Sendable, Hashable {
    public var canary: DesktopCount
    public var waveSize: DesktopCount
    public var maxUnavailable: DesktopCount
    public var window: MaintenanceWindow?
    public var healthGate: HealthGate
    /// Failed desktops (over the whole rollout) that halt it.
    public var failureThreshold: DesktopCount
    public var autoRollback: Bool

    public init(canary: DesktopCount = .count(1), waveSize: DesktopCount = .percent(25), maxUnavailable: DesktopCount = .count(1),
                window: MaintenanceWindow? = nil, healthGate: HealthGate = HealthGate(), failureThreshold: DesktopCount = .count(1),
                autoRollback: Bool = true) {
        self.canary = canary
        self.waveSize = waveSize
        self.maxUnavailable = maxUnavailable
        self.window = window
        self.healthGate = healthGate
        self.failureThreshold = failureThreshold
        self.autoRollback = autoRollback
    }
}

/// What a changed desktop must reach, within `timeoutSeconds`, to count as healthy: running,
/// its guest agent answering (if `agent`), its SPICE display up (if `display`).
public struct HealthGate: Sendable, Hashable {
    public var timeoutSeconds: Int
    public var agent: Bool
    public var display: Bool

    public init(timeoutSeconds: Int = 600, agent: Bool = true, display: Bool = true) {
        self.timeoutSeconds = timeoutSeconds
        self.agent = agent
        self.display = display
    }
}
