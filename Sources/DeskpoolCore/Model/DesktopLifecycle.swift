public import Foundation

/// What happens to a desktop. Every change of a desktop's record after its creation is one of
/// these, applied by `DesktopLifecycle` (and written by `Store.transition`): the table of
/// which event may happen in which state lives here, nowhere else.
public enum DesktopEvent: Sendable, Hashable {
    // MARK: The reconciler
    /// Disk and domain created: `provisioning` → `starting`.
    case provisioned
    /// The guest agent answered: `starting` → `ready`, or `assigned` when it is a user's (a
    /// reservation's session counts from `at`).
    case booted(at: Date)
    /// Shut down to run a changed definition: `restarting` → `starting`.
    case restarted
    /// Shut down at logoff: `stopping` → `off`.
    case stopped
    /// A ready spare the pool keeps saved to disk rather than running: `ready` and free →
    /// `saving`.
    case parked
    /// Its memory is on disk and its domain stopped: `saving` → `saved`.
    case saved
    /// A saved spare the pool wants running again: `saved` → `starting` (then `ready`).
    case resumed
    /// Destroyed, to be cloned again: `refreshing` → `provisioning`, the next incarnation, on
    /// the rollout's target version or else `version`, at `generation`; a floating desktop
    /// (`keepUser` false) goes back to the pool.
    case recloned(version: Int, generation: Int?, keepUser: Bool)
    /// The pool has too many: `ready`, `saved`, `refreshing` or `off` → `deleting`.
    case retired
    /// A failed desktop the pool gives up: `failed` → `deleting`.
    case discarded
    /// Provisioning, booting, restarting, refreshing or stopping went wrong → `failed`. A
    /// reservation that never became a desktop (first incarnation) is released.
    case failed(reason: String)
    /// Its domain vanished, stopped or broke while ready or in use → `failed`.
    case lost(reason: String)

    // MARK: Users
    /// Handed to a user from the spares: `ready` and free → `assigned`, a new session; a
    /// `saved` one → `starting` (resumed; the session's start moves to when it is up).
    case claimed(user: String, session: DesktopSession)
    /// A dedicated desktop shut down at logoff is asked for again: `off` → `starting`, a new
    /// session (its start moves to when the desktop is up).
    case woken(session: DesktopSession)
    /// A console is opened on a desktop kept at its last logoff (no session): a new session.
    case sessionBegun(DesktopSession)
    /// A console client connected: `assigned` or `disconnected` → `connected`.
    case consoleConnected(client: String)
    /// The console client went away: `connected` → `disconnected`.
    case consoleClosed
    /// The session ends with `action` (the pool's; a refresh when the pool drains or a rollout
    /// targets the desktop): `refresh` → `refreshing` (a floating desktop goes back to the
    /// pool), `shutdown` → `stopping`, `keep` → `assigned` without a session.
    case loggedOff(action: SessionSettings.LogoffAction, floating: Bool, reason: String?)

    // MARK: Admins
    /// Cloned afresh on the admin's word (a dedicated desktop stays its user's).
    case adminRefreshed(by: String, keepUser: Bool)
    /// Destroyed for good on the admin's word, from any state but `deleting`.
    case adminDeleted(by: String)
    /// A ready, free desktop of a dedicated pool given to `user`.
    case adminAssigned(user: String, by: String, session: DesktopSession)
    /// Taken from its user and cloned afresh (nothing of the user stays).
    case adminUnassigned(by: String)

    // MARK: Rollouts
    /// A rollout refreshes the desktop to `version` (`ready` or `off`; when rolling back, also
    /// `failed` or `starting`).
    case rolloutRefreshed(policy: String, version: Int, rollingBack: Bool)
    /// A ConfigPolicy changed the definition to `generation`; with `restart`, a `ready`,
    /// `saved` or `assigned` desktop restarts into it (any other keeps its state and gets it
    /// later).
    case redefined(policy: String, generation: Int, restart: Bool)
    /// A desktop whose user logged off restarts into its changed definition (`ready` or
    /// `assigned` → `restarting`).
    case rolloutRestarted(policy: String)
    /// A CheckPolicy's `refresh` remediation clones a failing idle desktop again: `ready` →
    /// `refreshing`.
    case remediated(policy: String)
    /// A desktop in use gets `version` at its next refresh (logoff).
    case targeted(version: Int)
    /// The rollout's target is dropped (only if it is `version`; nil: whatever it is).
    case untargeted(version: Int?)
    /// The pool's configuration generation, recorded without a restart (a cancel or a rollback).
    case regenerated(Int)

    /// The event's name, for refusals and tables.
    public var name: String {
        switch self {
        case .provisioned: "provisioned"
        case .booted: "booted"
        case .restarted: "restarted"
        case .stopped: "stopped"
        case .parked: "parked"
        case .saved: "saved"
        case .resumed: "resumed"
        case .recloned: "recloned"
        case .retired: "retired"
        case .discarded: "discarded"
        case .failed: "failed"
        case .lost: "lost"
        case .claimed: "claimed"
        case .woken: "woken"
        case .sessionBegun: "sessionBegun"
        case .consoleConnected: "consoleConnected"
        case .consoleClosed: "consoleClosed"
        case .loggedOff: "loggedOff"
        case .adminRefreshed: "adminRefreshed"
        case .adminDeleted: "adminDeleted"
        case .adminAssigned: "adminAssigned"
        case .adminUnassigned: "adminUnassigned"
        case .rolloutRefreshed: "rolloutRefreshed"
        case .redefined: "redefined"
        case .rolloutRestarted: "rolloutRestarted"
        case .remediated: "remediated"
        case .targeted: "targeted"
        case .untargeted: "untargeted"
        case .regenerated: "regenerated"
        }
    }
}

/// A user's session on a desktop as it begins: connect tokens name its id.
public struct DesktopSession: Sendable, Hashable {
    public var id: String
    public var startedAt: Date

    public init(id: String, startedAt: Date) {
        self.id = id
        self.startedAt = startedAt
    }

    /// A new session with a random id.
    public static func new(at date: Date) -> DesktopSession {
        DesktopSession(id: UUID().uuidString.lowercased(), startedAt: date)
    }
}

/// The desktop's life as a pure function: an event in a state gives the next record, or a
/// refusal. No I/O, no clock, no randomness: times and session ids come in the events.
public enum DesktopLifecycle {
    /// Why an event may not happen to the desktop now.
    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        public var event: String
        public var state: DesktopState
        public var message: String

        public var description: String { message }
    }

    /// The states a desktop is created in: `provisioning` (by its pool or a user's
    /// reservation) or `starting` (a domain adopted after a crash).
    public static let initialStates: Set<DesktopState> = [.provisioning, .starting]

    /// The states in which `event` may happen (further conditions on the record, such as a
    /// free desktop for a claim, are checked by `apply`).
    public static func states(for event: DesktopEvent) -> Set<DesktopState> {
        let all = Set(DesktopState.allCases)
        let session: Set<DesktopState> = [.assigned, .connected, .disconnected]
        let settled: Set<DesktopState> = [.ready, .saved, .assigned, .connected, .disconnected, .off, .failed]
        switch event {
        case .provisioned: return [.provisioning]
        case .booted: return [.starting]
        case .restarted: return [.restarting]
        case .stopped: return [.stopping]
        case .recloned: return [.refreshing]
        case .parked: return [.ready]
        case .saved: return [.saving]
        case .resumed: return [.saved]
        case .retired: return [.ready, .saved, .refreshing, .off]
        case .discarded: return [.failed]
        case .failed: return [.provisioning, .starting, .refreshing, .restarting, .stopping, .saving]
        case .lost: return session.union([.ready, .saved])
        case .claimed: return [.ready, .saved]
        case .adminAssigned: return [.ready]
        case .woken: return [.off]
        case .sessionBegun, .loggedOff, .targeted: return session
        case .consoleConnected: return [.assigned, .disconnected]
        case .consoleClosed: return [.connected]
        case .adminRefreshed, .adminUnassigned: return settled
        case .adminDeleted: return all.subtracting([.deleting])
        case .rolloutRefreshed(_, _, let rollingBack): return rollingBack ? [.ready, .saved, .off, .failed, .starting] : [.ready, .saved, .off]
        case .rolloutRestarted: return [.ready, .assigned]
        case .remediated: return [.ready]
        case .redefined, .untargeted, .regenerated: return all
        }
    }

    /// The record after `event`, or why the event may not happen now. Leaves `updatedAt` to
    /// the store.
    public static func apply(_ event: DesktopEvent, to desktop: Desktop) -> Result<Desktop, Refusal> {
        guard states(for: event).contains(desktop.state) else {
            let allowed = states(for: event).map(\.rawValue).sorted().joined(separator: ", ")
            return .failure(refusal(event, desktop, "desktop \(desktop.name) is \(desktop.state.rawValue); \(event.name) needs \(allowed)"))
        }
        var d = desktop
        switch event {
        case .provisioned, .restarted:
            d.state = .starting
        case .booted(let at):
            d.state = d.user == nil ? .ready : .assigned
            d.reason = nil
            // A user's reservation: their session counts from now. (A dedicated desktop
            // refreshed at logoff has no session until its user opens it again.)
            if d.sessionID != nil { d.sessionStartedAt = at }
        case .stopped:
            d.state = .off
        case .parked:
            guard d.user == nil else { return .failure(refusal(event, desktop, "desktop \(desktop.name) is not free")) }
            d.state = .saving
        case .saved:
            d.state = .saved
        case .resumed:
            d.state = .starting
        case .recloned(let version, let generation, let keepUser):
            d.incarnation += 1
            d.version = d.targetVersion ?? version
            d.targetVersion = nil
            d.generation = generation ?? d.generation
            d.state = .provisioning
            d.reason = nil
            d.endSession()
            if !keepUser { d.user = nil }
        case .retired:
            d.state = .deleting
            d.reason = "not needed"
        case .discarded:
            d.state = .deleting
        case .failed(let reason):
            let undelivered = (d.state == .provisioning || d.state == .starting) && d.incarnation == 1
            d.state = .failed
            d.reason = reason
            if undelivered {  // a reservation that never became a desktop is released
                d.user = nil
                d.endSession()
            }
        case .lost(let reason):
            d.state = .failed
            d.reason = reason
        case .claimed(let user, let session), .adminAssigned(let user, _, let session):
            guard d.user == nil else { return .failure(refusal(event, desktop, "desktop \(desktop.name) is not free")) }
            // A saved spare is the user's at once, and theirs to use once it has resumed.
            d.state = d.state == .saved ? .starting : .assigned
            d.user = user
            d.begin(session)
        case .woken(let session):
            d.state = .starting
            d.begin(session)
        case .sessionBegun(let session):
            d.begin(session)
        case .consoleConnected(let client):
            d.state = .connected
            d.client = client
        case .consoleClosed:
            d.state = .disconnected
        case .loggedOff(let action, let floating, let reason):
            d.state = switch action {
            case .refresh: .refreshing
            case .shutdown: .stopping
            case .keep: .assigned
            }
            d.reason = reason
            d.endSession()
            if action == .refresh, floating { d.user = nil }
        case .adminRefreshed(let admin, let keepUser):
            d.state = .refreshing
            d.reason = "refreshed by admin \(admin)"
            d.endSession()
            if !keepUser { d.user = nil }
        case .adminDeleted(let admin):
            d.state = .deleting
            d.reason = "deleted by admin \(admin)"
            d.endSession()
        case .adminUnassigned(let admin):
            guard d.user != nil else { return .failure(refusal(event, desktop, "desktop \(desktop.name) is not assigned")) }
            // The desktop goes back to the pool cloned afresh: nothing of its user's stays on it.
            d.state = .refreshing
            d.reason = "unassigned by admin \(admin)"
            d.endSession()
            d.user = nil
        case .rolloutRefreshed(let policy, let version, _):
            d.state = .refreshing
            d.targetVersion = version
            d.reason = "rollout \(policy): to v\(version)"
        case .redefined(let policy, let generation, let restart):
            d.generation = generation
            // A saved spare would resume its old live definition: it restarts (boots) instead.
            if restart, d.state == .ready || d.state == .assigned || d.state == .saved {
                d.state = .restarting
                d.reason = "rollout \(policy): restarting into generation \(generation)"
            }
        case .rolloutRestarted(let policy):
            d.state = .restarting
            d.reason = "rollout \(policy): restarting into its changed definition"
        case .remediated(let policy):
            d.state = .refreshing
            d.reason = "remediation of check \(policy)"
        case .targeted(let version):
            d.targetVersion = version
        case .untargeted(let version):
            if version == nil || d.targetVersion == version { d.targetVersion = nil }
        case .regenerated(let generation):
            d.generation = generation
        }
        return .success(d)
    }

    private static func refusal(_ event: DesktopEvent, _ desktop: Desktop, _ message: String) -> Refusal {
        Refusal(event: event.name, state: desktop.state, message: message)
    }
}

extension Desktop {
    /// Starts `session` for the desktop's user.
    mutating func begin(_ session: DesktopSession) {
        sessionID = session.id
        sessionStartedAt = session.startedAt
        client = nil
    }
}
