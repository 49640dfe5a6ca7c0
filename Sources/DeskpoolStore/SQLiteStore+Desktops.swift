public import DeskpoolCore
import Foundation
import GRDB

extension SQLiteStore {
    public func insertDesktop(_ desktop: Desktop, actor: String, limit: Int?) async throws(DeskpoolError) -> Bool {
        try await write { db in
            if let limit {
                let count = try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM desktop WHERE pool = ? AND state <> ?",
                    arguments: [desktop.pool, DesktopState.deleting.rawValue]) ?? 0
                guard count < limit else { return false }
            }
            // Checked inside the transaction, so no other writer can take the name in between;
            // a constraint error would only say which column clashed, not in a user's terms.
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM desktop WHERE name = ?", arguments: [desktop.name]) != nil {
                throw DeskpoolError(.alreadyExists, "a desktop named '\(desktop.name)' already exists", field: "name")
            }
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM desktop WHERE id = ?", arguments: [desktop.id]) != nil {
                throw DeskpoolError(.alreadyExists, "a desktop with id '\(desktop.id)' already exists", field: "id")
            }
            try DesktopRow(desktop).insert(db)
            try Self.applyUsage(db, UsageLedger.changes(from: nil, to: desktop, event: nil, at: StoreCoding.stored(Date())))
            var detail = "state: \(desktop.state.rawValue) host: \(desktop.host)"
            if let user = desktop.user { detail += " user: \(user)" }
            try Self.appendAudit(db, actor: actor, action: "desktop.create", subject: "desktop/\(desktop.name)", detail: detail)
            return true
        }
    }

    public func desktop(id: String) async throws(DeskpoolError) -> Desktop? {
        try await read { db in try DesktopRow.fetchOne(db.cachedStatement(sql: "SELECT * FROM desktop WHERE id = ?"), arguments: [id])?.desktop }
    }

    public func desktop(named name: String) async throws(DeskpoolError) -> Desktop? {
        try await read { db in try DesktopRow.filter(Column("name") == name).fetchOne(db)?.desktop }
    }

    public func pool(named name: String, withDesktopsOf user: String) async throws(DeskpoolError) -> (pool: PoolSpec, desktops: [Desktop])? {
        try await read { db in
            guard let pool = try Self.pool(db, named: name) else { return nil }
            return (pool, try Self.desktops(db, pool: name, user: user))
        }
    }

    public func desktops(pool: String?, user: String?) async throws(DeskpoolError) -> [Desktop] {
        try await read { db in try Self.desktops(db, pool: pool, user: user) }
    }

    /// `desktops(pool:user:)` inside the caller's transaction.
    static func desktops(_ db: Database, pool: String?, user: String?) throws -> [Desktop] {
        // Cached statements: a user's request runs the pool-and-user one every time.
        let statement: Statement
        switch (pool, user) {
        case let (pool?, user?):
            statement = try db.cachedStatement(sql: "SELECT * FROM desktop WHERE pool = ? AND user = ? ORDER BY name")
            statement.setUncheckedArguments([pool, user])
        case let (pool?, nil):
            statement = try db.cachedStatement(sql: "SELECT * FROM desktop WHERE pool = ? ORDER BY name")
            statement.setUncheckedArguments([pool])
        case let (nil, user?):
            statement = try db.cachedStatement(sql: "SELECT * FROM desktop WHERE user = ? ORDER BY name")
            statement.setUncheckedArguments([user])
        case (nil, nil):
            statement = try db.cachedStatement(sql: "SELECT * FROM desktop ORDER BY name")
        }
        return try DesktopRow.fetchAll(statement).map(\.desktop)
    }

    public func transition(
        _ id: String, _ event: DesktopEvent, expecting: Set<DesktopState>?, actor: String
    ) async throws(DeskpoolError) -> Desktop? {
        try await write { db in try Self.transition(db, id, event, expecting: expecting, actor: actor) }
    }

    /// `transition` inside the caller's transaction.
    static func transition(_ db: Database, _ id: String, _ event: DesktopEvent, expecting: Set<DesktopState>?,
                           actor: String) throws -> Desktop? {
        // Cached statements: a rollout pass makes this call for hundreds of desktops.
        let select = try db.cachedStatement(sql: "SELECT * FROM desktop WHERE id = ?")
        guard let old = try DesktopRow.fetchOne(select, arguments: [id])?.desktop,
              expecting?.contains(old.state) ?? true,
              var new = try? DesktopLifecycle.apply(event, to: old).get()
        else { return nil }
        new.updatedAt = StoreCoding.stored(Date())
        try DesktopRow(new).updateChanges(db, from: DesktopRow(old))
        try applyUsage(db, UsageLedger.changes(from: old, to: new, event: event, at: new.updatedAt))
        if new.state != old.state {
            try appendAudit(db, actor: actor, action: "desktop.state", subject: "desktop/\(new.name)", detail: StoreCoding.stateDetail(old.state, new))
        }
        return new
    }

    public func claimReady(pool: String, user: String, actor: String, onHosts hosts: Set<String>?) async throws(DeskpoolError) -> Desktop? {
        try await write { db in
            // One write transaction: the pick and the update cannot interleave with another
            // claim, in this process or (IMMEDIATE transactions) another one.
            var ready = DesktopRow.filter(Column("pool") == pool && Column("state") == DesktopState.ready.rawValue && Column("user") == nil)
            if let hosts { ready = ready.filter(hosts.contains(Column("host"))) }
            guard let old = try ready
                .order(Column("updatedAt"), Column("name"))
                .fetchOne(db)?.desktop
            else { return nil }
            let at = StoreCoding.stored(Date())
            let event = DesktopEvent.claimed(user: user, session: .new(at: at))
            var desktop = try DesktopLifecycle.apply(event, to: old)
                .mapError { DeskpoolError(.conflict, "a ready desktop could not be claimed: \($0.message)") }.get()
            desktop.updatedAt = at
            try DesktopRow(desktop).update(db)
            try Self.applyUsage(db, UsageLedger.changes(from: old, to: desktop, event: event, at: at))
            try Self.appendAudit(db, actor: actor, action: "desktop.state", subject: "desktop/\(desktop.name)",
                                 detail: "ready -> assigned user: \(user)")
            return desktop
        }
    }

    public func deleteDesktop(id: String, actor: String) async throws(DeskpoolError) {
        try await write { db in
            guard let desktop = try DesktopRow.fetchOne(db, key: id)?.desktop else {
                throw DeskpoolError(.notFound, "no desktop with id '\(id)'", field: "id")
            }
            try DesktopRow.deleteOne(db, key: id)
            try Self.applyUsage(db, UsageLedger.changes(from: desktop, to: nil, event: nil, at: StoreCoding.stored(Date())))
            try Self.appendAudit(db, actor: actor, action: "desktop.delete", subject: "desktop/\(desktop.name)",
                                 detail: "state: \(desktop.state.rawValue)")
        }
    }
}

// MARK: - Row

/// A `desktop` row: dates as milliseconds, the state as its raw value.
private struct DesktopRow: FetchableRecord, PersistableRecord {
    static let databaseTableName = "desktop"
    var desktop: Desktop

    init(_ desktop: Desktop) { self.desktop = desktop }

    init(row: Row) throws {
        let stateName: String = row["state"]
        guard let state = DesktopState(rawValue: stateName) else {
            throw DeskpoolError(.storeFailed, "the store failed: desktop '\(row["name"] as String)' has an unknown state '\(stateName)'")
        }
        desktop = Desktop(
            id: row["id"], name: row["name"], pool: row["pool"], host: row["host"], template: row["template"],
            version: row["version"], state: state, reason: row["reason"], user: row["user"],
            incarnation: row["incarnation"], generation: row["generation"], sessionID: row["sessionID"],
            sessionStartedAt: (row["sessionStartedAt"] as Int64?).map(StoreCoding.date), client: row["client"],
            targetVersion: row["targetVersion"], createdAt: StoreCoding.date(row["createdAt"]), updatedAt: StoreCoding.date(row["updatedAt"]))
    }

    func encode(to container: inout PersistenceContainer) throws {
        container["id"] = desktop.id
        container["name"] = desktop.name
        container["pool"] = desktop.pool
        container["host"] = desktop.host
        container["template"] = desktop.template
        container["version"] = desktop.version
        container["state"] = desktop.state.rawValue
        container["reason"] = desktop.reason
        container["user"] = desktop.user
        container["incarnation"] = desktop.incarnation
        container["generation"] = desktop.generation
        container["sessionID"] = desktop.sessionID
        container["sessionStartedAt"] = desktop.sessionStartedAt.map(StoreCoding.millis)
        container["client"] = desktop.client
        container["targetVersion"] = desktop.targetVersion
        container["createdAt"] = StoreCoding.millis(desktop.createdAt)
        container["updatedAt"] = StoreCoding.millis(desktop.updatedAt)
    }
}
