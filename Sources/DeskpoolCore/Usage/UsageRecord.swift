public import Foundation

/// One desktop session as the usage history keeps it: who, which pool and desktop (and its
/// version), when it was asked for, handed over running, first and last connected, and when
/// and why it ended. Written by the store in the same transaction as the desktop change it
/// follows (`UsageLedger`), kept `broker.usageRetentionDays`.
public struct UsageRecord: Sendable, Hashable, Codable {
    /// The session's id (`Desktop.sessionID`).
    public var session: String
    public var pool: String
    public var desktopID: String
    public var desktop: String
    public var user: String
    public var version: Int
    /// The session began: a ready desktop claimed, a new one reserved, a dedicated one woken.
    public var requestedAt: Date
    /// A desktop made for the session: its disk and domain were created and it started to boot
    /// (nil for a ready desktop claimed).
    public var provisionedAt: Date?
    /// The desktop was running and the user's (at once for a claim; after the boot otherwise).
    public var readyAt: Date?
    /// The session's first console ticket (a `.vv` file or a browser console) was issued.
    public var ticketAt: Date?
    public var firstConnectedAt: Date?
    public var lastDisconnectedAt: Date?
    /// Console connections (reconnects included).
    public var connects: Int
    public var endedAt: Date?
    /// Why it ended: the logoff's reason (`user`, `disconnect timeout`, ...), `failed: ...`,
    /// `admin ...`, `deleted`.
    public var endReason: String?

    public init(session: String, pool: String, desktopID: String, desktop: String, user: String, version: Int, requestedAt: Date,
                provisionedAt: Date? = nil, readyAt: Date? = nil, firstConnectedAt: Date? = nil, lastDisconnectedAt: Date? = nil,
                connects: Int = 0, endedAt: Date? = nil, endReason: String? = nil, ticketAt: Date? = nil) {
        self.session = session
        self.pool = pool
        self.desktopID = desktopID
        self.desktop = desktop
        self.user = user
        self.version = version
        self.requestedAt = requestedAt
        self.provisionedAt = provisionedAt
        self.readyAt = readyAt
        self.ticketAt = ticketAt
        self.firstConnectedAt = firstConnectedAt
        self.lastDisconnectedAt = lastDisconnectedAt
        self.connects = connects
        self.endedAt = endedAt
        self.endReason = endReason
    }

    /// Seconds from the request to the desktop running (nil while it is not).
    public var waitSeconds: Double? { readyAt.map { $0.timeIntervalSince(requestedAt) } }
    /// The wait's phases, in seconds: making the desktop (clone and define), booting it, and
    /// from running to the first console connection (the ticket and the client). Nil where a
    /// phase did not happen (a ready desktop claimed has no provisioning or boot) or not yet.
    public var provisioningSeconds: Double? { provisionedAt.map { $0.timeIntervalSince(requestedAt) } }
    public var bootSeconds: Double? {
        guard let provisionedAt, let readyAt else { return nil }
        return readyAt.timeIntervalSince(provisionedAt)
    }
    /// From running to the first console ticket (the user's client asking for the console).
    public var ticketSeconds: Double? {
        guard let readyAt, let ticketAt, ticketAt >= readyAt else { return nil }
        return ticketAt.timeIntervalSince(readyAt)
    }
    public var connectSeconds: Double? {
        guard let readyAt, let firstConnectedAt else { return nil }
        return firstConnectedAt.timeIntervalSince(readyAt)
    }
}

/// Which sessions a usage query wants: of a pool and/or user, overlapping `from` ..< `to`.
public struct UsageQuery: Sendable, Hashable {
    public var pool: String?
    public var user: String?
    /// Sessions still open at or after this time (ended after it, or not ended).
    public var from: Date?
    /// Sessions requested before this time.
    public var to: Date?
    public var limit: Int
    public init(pool: String? = nil, user: String? = nil, from: Date? = nil, to: Date? = nil, limit: Int = 10_000) {
        self.pool = pool
        self.user = user
        self.from = from
        self.to = to
        self.limit = limit
    }
}

/// What a desktop change means for the usage history, as a pure function of the record before
/// and after (and the event that made it): the store applies these in the same transaction.
public enum UsageLedger {
    public enum Change: Sendable, Hashable {
        /// A session began (a new record).
        case begin(UsageRecord)
        /// The session's new desktop was cloned and defined, and starts (first time only).
        case provisioned(session: String, at: Date)
        /// The session's desktop is running and the user's (first time only).
        case ready(session: String, at: Date)
        case connected(session: String, at: Date)
        case disconnected(session: String, at: Date)
        /// The session ended (first time only).
        case end(session: String, at: Date, reason: String)
    }

    /// An end's reason is kept to this many characters (a failure's reason may carry a long
    /// message of the host).
    public static let maxReasonCharacters = 512

    /// The changes of a desktop going from `old` (nil: it is new) to `new` (nil: it was deleted)
    /// through `event` (nil: an insert or a delete) at `at`.
    public static func changes(from old: Desktop?, to new: Desktop?, event: DesktopEvent?, at: Date) -> [Change] {
        var changes: [Change] = []
        let before = old?.sessionID, after = new?.sessionID
        if let before, before != after {
            changes.append(.end(session: before, at: at, reason: String(reason(event, new).prefix(maxReasonCharacters))))
        } else if let before, let old, let new, new.state == .failed, old.state != .failed {
            // The desktop broke under its user: the session is over, whatever the record keeps.
            changes.append(.end(session: before, at: at, reason: String("failed: \(new.reason ?? "unknown")".prefix(maxReasonCharacters))))
        }
        if let after, after != before, let new, let user = new.user {
            changes.append(.begin(UsageRecord(session: after, pool: new.pool, desktopID: new.id, desktop: new.name, user: user,
                                              version: new.version, requestedAt: at,
                                              // A saved spare's resume is its boot phase.
                                              provisionedAt: old?.state == .saved ? at : nil,
                                              readyAt: new.state.isInSession ? at : nil)))
        } else if let after, after == before, let old, let new, !old.state.isInSession, new.state.isInSession {
            changes.append(.ready(session: after, at: at))
        }
        if let after, after == before {
            switch event {
            case .provisioned: changes.append(.provisioned(session: after, at: at))
            case .consoleConnected: changes.append(.connected(session: after, at: at))
            case .consoleClosed: changes.append(.disconnected(session: after, at: at))
            default: break
            }
        }
        return changes
    }

    /// Why a session ended, from the event that ended it.
    static func reason(_ event: DesktopEvent?, _ new: Desktop?) -> String {
        switch event {
        case nil: return "deleted"
        case .loggedOff(_, _, let reason): return reason ?? "logoff"
        case .failed(let reason), .lost(let reason): return "failed: \(reason)"
        case .adminRefreshed(let admin, _): return "refreshed by admin \(admin)"
        case .adminDeleted(let admin): return "deleted by admin \(admin)"
        case .adminUnassigned(let admin): return "unassigned by admin \(admin)"
        case .some(let event): return new?.reason ?? event.name
        }
    }
}
