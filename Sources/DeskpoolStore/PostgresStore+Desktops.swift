public import DeskpoolCore
import Foundation
import PostgresNIO

extension PostgresStore {
    public func insertDesktop(_ desktop: Desktop, actor: String, limit: Int?) async throws(DeskpoolError) -> Bool {
        try await write { connection in
            if let limit {
                // Two brokers adding to one pool count one after the other.
                try await Self.lock("desktops/\(desktop.pool)", on: connection)
                let count = try await Self.rows("""
                    SELECT COUNT(*) AS n FROM desktop WHERE pool = \(desktop.pool) AND state <> \(DesktopState.deleting.rawValue)
                    """, on: connection)[0]["n"].decode(Int.self)
                guard count < limit else { return false }
            }
            if try await !Self.rows("SELECT 1 FROM desktop WHERE name = \(desktop.name)", on: connection).isEmpty {
                throw DeskpoolError(.alreadyExists, "a desktop named '\(desktop.name)' already exists", field: "name")
            }
            if try await !Self.rows("SELECT 1 FROM desktop WHERE id = \(desktop.id)", on: connection).isEmpty {
                throw DeskpoolError(.alreadyExists, "a desktop with id '\(desktop.id)' already exists", field: "id")
            }
            try await Self.execute(Self.insert(desktop), on: connection)
            try await Self.applyUsage(connection, UsageLedger.changes(from: nil, to: desktop, event: nil, at: StoreCoding.stored(Date())))
            var detail = "state: \(desktop.state.rawValue) host: \(desktop.host)"
            if let user = desktop.user { detail += " user: \(user)" }
            try await Self.appendAudit(connection, actor: actor, action: "desktop.create", subject: "desktop/\(desktop.name)", detail: detail)
            return true
        }
    }

    public func desktop(id: String) async throws(DeskpoolError) -> Desktop? {
        try await read { connection in try await Self.rows("SELECT * FROM desktop WHERE id = \(id)", on: connection).first.map(Self.desktop) }
    }

    public func desktop(named name: String) async throws(DeskpoolError) -> Desktop? {
        try await read { connection in try await Self.rows("SELECT * FROM desktop WHERE name = \(name)", on: connection).first.map(Self.desktop) }
    }

    public func pool(named name: String, withDesktopsOf user: String) async throws(DeskpoolError) -> (pool: PoolSpec, desktops: [Desktop])? {
        try await read { connection in
            guard let pool = try await Self.pool(connection, named: name) else { return nil }
            return (pool, try await Self.desktops(connection, pool: name, user: user))
        }
    }

    public func desktops(pool: String?, user: String?) async throws(DeskpoolError) -> [Desktop] {
        try await read { connection in try await Self.desktops(connection, pool: pool, user: user) }
    }

    static func desktops(_ connection: PostgresConnection, pool: String?, user: String?) async throws -> [Desktop] {
        let query: PostgresQuery = switch (pool, user) {
        case let (pool?, user?): "SELECT * FROM desktop WHERE pool = \(pool) AND \"user\" = \(user) ORDER BY name"
        case let (pool?, nil): "SELECT * FROM desktop WHERE pool = \(pool) ORDER BY name"
        case let (nil, user?): "SELECT * FROM desktop WHERE \"user\" = \(user) ORDER BY name"
        case (nil, nil): "SELECT * FROM desktop ORDER BY name"
        }
        return try await rows(query, on: connection).map(desktop)
    }

    public func transition(
        _ id: String, _ event: DesktopEvent, expecting: Set<DesktopState>?, actor: String
    ) async throws(DeskpoolError) -> Desktop? {
        try await write { connection in try await Self.transition(connection, id, event, expecting: expecting, actor: actor) }
    }

    /// `transition` inside the caller's transaction: the row is locked until it commits.
    static func transition(_ connection: PostgresConnection, _ id: String, _ event: DesktopEvent, expecting: Set<DesktopState>?,
                           actor: String) async throws -> Desktop? {
        guard let old = try await rows("SELECT * FROM desktop WHERE id = \(id) FOR UPDATE", on: connection).first.map(desktop),
              expecting?.contains(old.state) ?? true,
              var new = try? DesktopLifecycle.apply(event, to: old).get()
        else { return nil }
        new.updatedAt = StoreCoding.stored(Date())
        try await execute(update(new), on: connection)
        try await applyUsage(connection, UsageLedger.changes(from: old, to: new, event: event, at: new.updatedAt))
        if new.state != old.state {
            try await appendAudit(connection, actor: actor, action: "desktop.state", subject: "desktop/\(new.name)",
                                  detail: StoreCoding.stateDetail(old.state, new))
        }
        return new
    }

    public func claimReady(pool: String, user: String, actor: String, onHosts hosts: Set<String>?) async throws(DeskpoolError) -> Desktop? {
        try await write { connection in
            // The oldest ready desktop no other transaction holds: two brokers claiming at once
            // take two different desktops, and neither waits for the other.
            let ready = DesktopState.ready.rawValue
            let query: PostgresQuery = if let hosts {
                """
                SELECT * FROM desktop WHERE pool = \(pool) AND state = \(ready) AND "user" IS NULL AND host = ANY(\(hosts.sorted()))
                ORDER BY updated_at, name LIMIT 1 FOR UPDATE SKIP LOCKED
                """
            } else {
                """
                SELECT * FROM desktop WHERE pool = \(pool) AND state = \(ready) AND "user" IS NULL
                ORDER BY updated_at, name LIMIT 1 FOR UPDATE SKIP LOCKED
                """
            }
            guard let old = try await Self.rows(query, on: connection).first.map(Self.desktop) else { return nil }
            let at = StoreCoding.stored(Date())
            let event = DesktopEvent.claimed(user: user, session: .new(at: at))
            var desktop = try DesktopLifecycle.apply(event, to: old)
                .mapError { DeskpoolError(.conflict, "a ready desktop could not be claimed: \($0.message)") }.get()
            desktop.updatedAt = at
            try await Self.execute(Self.update(desktop), on: connection)
            try await Self.applyUsage(connection, UsageLedger.changes(from: old, to: desktop, event: event, at: at))
            try await Self.appendAudit(connection, actor: actor, action: "desktop.state", subject: "desktop/\(desktop.name)",
                                       detail: "ready -> assigned user: \(user)")
            return desktop
        }
    }

    public func deleteDesktop(id: String, actor: String) async throws(DeskpoolError) {
        try await write { connection in
            guard let desktop = try await Self.rows("DELETE FROM desktop WHERE id = \(id) RETURNING *", on: connection).first.map(Self.desktop) else {
                throw DeskpoolError(.notFound, "no desktop with id '\(id)'", field: "id")
            }
            try await Self.applyUsage(connection, UsageLedger.changes(from: desktop, to: nil, event: nil, at: StoreCoding.stored(Date())))
            try await Self.appendAudit(connection, actor: actor, action: "desktop.delete", subject: "desktop/\(desktop.name)",
                                       detail: "state: \(desktop.state.rawValue)")
        }
    }

    // MARK: - Rows

    static func desktop(_ row: PostgresRandomAccessRow) throws -> Desktop {
        let name = try row["name"].decode(String.self)
        let stateName = try row["state"].decode(String.self)
        guard let state = DesktopState(rawValue: stateName) else {
            throw DeskpoolError(.storeFailed, "the store failed: desktop '\(name)' has an unknown state '\(stateName)'")
        }
        return Desktop(
            id: try row["id"].decode(String.self), name: name, pool: try row["pool"].decode(String.self),
            host: try row["host"].decode(String.self), template: try row["template"].decode(String.self),
            version: try row["version"].decode(Int.self), state: state, reason: try row["reason"].decode(String?.self),
            user: try row["user"].decode(String?.self), incarnation: try row["incarnation"].decode(Int.self),
            generation: try row["generation"].decode(Int.self), sessionID: try row["session_id"].decode(String?.self),
            sessionStartedAt: try row["session_started_at"].decode(Int64?.self).map(StoreCoding.date),
            client: try row["client"].decode(String?.self), targetVersion: try row["target_version"].decode(Int?.self),
            createdAt: StoreCoding.date(try row["created_at"].decode(Int64.self)), updatedAt: StoreCoding.date(try row["updated_at"].decode(Int64.self)))
    }

    static func insert(_ d: Desktop) -> PostgresQuery {
        """
        INSERT INTO desktop (id, name, pool, host, template, version, state, reason, "user", incarnation, generation, session_id,
            session_started_at, client, target_version, created_at, updated_at)
        VALUES (\(d.id), \(d.name), \(d.pool), \(d.host), \(d.template), \(d.version), \(d.state.rawValue), \(d.reason), \(d.user),
            \(d.incarnation), \(d.generation), \(d.sessionID), \(d.sessionStartedAt.map(StoreCoding.millis)), \(d.client),
            \(d.targetVersion), \(StoreCoding.millis(d.createdAt)), \(StoreCoding.millis(d.updatedAt)))
        """
    }

    static func update(_ d: Desktop) -> PostgresQuery {
        """
        UPDATE desktop SET name = \(d.name), pool = \(d.pool), host = \(d.host), template = \(d.template), version = \(d.version),
            state = \(d.state.rawValue), reason = \(d.reason), "user" = \(d.user), incarnation = \(d.incarnation), generation = \(d.generation),
            session_id = \(d.sessionID), session_started_at = \(d.sessionStartedAt.map(StoreCoding.millis)), client = \(d.client),
            target_version = \(d.targetVersion), updated_at = \(StoreCoding.millis(d.updatedAt))
        WHERE id = \(d.id)
        """
    }
}
