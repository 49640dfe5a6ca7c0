public import DeskpoolCore
public import Foundation
import PostgresNIO

extension PostgresStore {
    public func usage(_ query: UsageQuery) async throws(DeskpoolError) -> [UsageRecord] {
        // Unset filters bind NULL and drop out, so one statement serves every query (an unnamed
        // statement is planned with its values, so the indexes still serve the set ones).
        let from = query.from.map(StoreCoding.millis), to = query.to.map(StoreCoding.millis)
        // Int.max asks for everything: clamped to what any SQL LIMIT takes.
        let limit = min(max(0, query.limit), Int(Int32.max))
        return try await read { connection in
            try await Self.rows("""
                SELECT * FROM usage_session
                WHERE (\(query.pool)::TEXT IS NULL OR pool = \(query.pool)) AND (\(query.user)::TEXT IS NULL OR "user" = \(query.user))
                    AND (\(from)::BIGINT IS NULL OR ended_at IS NULL OR ended_at >= \(from))
                    AND (\(to)::BIGINT IS NULL OR requested_at < \(to))
                ORDER BY requested_at, session LIMIT \(limit)
                """, on: connection).map(Self.usageRecord)
        }
    }

    @discardableResult
    public func deleteUsage(endedBefore before: Date) async throws(DeskpoolError) -> Int {
        try await write { connection in
            try await Self.rows("""
                WITH gone AS (DELETE FROM usage_session WHERE ended_at < \(StoreCoding.millis(before)) RETURNING 1)
                SELECT COUNT(*) AS n FROM gone
                """, on: connection)[0]["n"].decode(Int.self)
        }
    }

    public func noteUsageTicket(session: String, at: Date) async throws(DeskpoolError) {
        try await write { connection in
            _ = try await Self.execute("""
                UPDATE usage_session SET ticket_at = COALESCE(ticket_at, \(StoreCoding.millis(at))) WHERE session = \(session)
                """, on: connection)
        }
    }

    public func recordCapacity(_ samples: [CapacitySample]) async throws(DeskpoolError) {
        guard !samples.isEmpty else { return }
        try await write { connection in
            for sample in samples {
                _ = try await Self.execute("""
                    INSERT INTO capacity_sample (pool, at, ready, saved, in_use, preparing)
                    VALUES (\(sample.pool), \(StoreCoding.millis(sample.at)), \(sample.ready), \(sample.saved), \(sample.inUse), \(sample.preparing))
                    ON CONFLICT (pool, at) DO UPDATE SET ready = EXCLUDED.ready, saved = EXCLUDED.saved, in_use = EXCLUDED.in_use,
                        preparing = EXCLUDED.preparing
                    """, on: connection)
            }
        }
    }

    public func capacitySamples(pool: String, from: Date, to: Date, limit: Int) async throws(DeskpoolError) -> [CapacitySample] {
        let limit = min(max(0, limit), Int(Int32.max))
        return try await read { connection in
            try await Self.rows("""
                SELECT * FROM capacity_sample WHERE pool = \(pool) AND at >= \(StoreCoding.millis(from)) AND at < \(StoreCoding.millis(to))
                ORDER BY at LIMIT \(limit)
                """, on: connection).map(Self.capacitySample)
        }
    }

    @discardableResult
    public func deleteCapacitySamples(before: Date) async throws(DeskpoolError) -> Int {
        try await write { connection in
            try await Self.rows("""
                WITH gone AS (DELETE FROM capacity_sample WHERE at < \(StoreCoding.millis(before)) RETURNING 1)
                SELECT COUNT(*) AS n FROM gone
                """, on: connection)[0]["n"].decode(Int.self)
        }
    }

    static func capacitySample(_ row: PostgresRandomAccessRow) throws -> CapacitySample {
        CapacitySample(pool: try row["pool"].decode(String.self), at: StoreCoding.date(try row["at"].decode(Int64.self)),
                       ready: try row["ready"].decode(Int.self), saved: try row["saved"].decode(Int.self),
                       inUse: try row["in_use"].decode(Int.self), preparing: try row["preparing"].decode(Int.self))
    }

    /// Applies a desktop change's usage changes (`UsageLedger.changes`) inside the caller's
    /// transaction. A session begun twice keeps its first record; the first provisioning,
    /// readiness, connection and end are kept.
    static func applyUsage(_ connection: PostgresConnection, _ changes: [UsageLedger.Change]) async throws {
        for change in changes {
            let query: PostgresQuery
            switch change {
            case .begin(let r):
                query = """
                    INSERT INTO usage_session (session, pool, desktop_id, desktop, "user", version, requested_at, provisioned_at, ready_at,
                        first_connected_at, last_disconnected_at, ended_at, connects, end_reason, ticket_at)
                    VALUES (\(r.session), \(r.pool), \(r.desktopID), \(r.desktop), \(r.user), \(r.version), \(StoreCoding.millis(r.requestedAt)),
                        \(millis(r.provisionedAt)), \(millis(r.readyAt)), \(millis(r.firstConnectedAt)), \(millis(r.lastDisconnectedAt)),
                        \(millis(r.endedAt)), \(r.connects), \(r.endReason), \(millis(r.ticketAt)))
                    ON CONFLICT (session) DO NOTHING
                    """
            case .provisioned(let session, let at):
                query = """
                    UPDATE usage_session SET provisioned_at = \(StoreCoding.millis(at)) WHERE session = \(session) AND provisioned_at IS NULL
                    """
            case .ready(let session, let at):
                query = "UPDATE usage_session SET ready_at = \(StoreCoding.millis(at)) WHERE session = \(session) AND ready_at IS NULL"
            case .connected(let session, let at):
                query = """
                    UPDATE usage_session SET first_connected_at = COALESCE(first_connected_at, \(StoreCoding.millis(at))),
                        connects = connects + 1
                    WHERE session = \(session)
                    """
            case .disconnected(let session, let at):
                query = "UPDATE usage_session SET last_disconnected_at = \(StoreCoding.millis(at)) WHERE session = \(session)"
            case .end(let session, let at, let reason):
                query = """
                    UPDATE usage_session SET ended_at = \(StoreCoding.millis(at)), end_reason = \(reason)
                    WHERE session = \(session) AND ended_at IS NULL
                    """
            }
            try await execute(query, on: connection)
        }
    }

    private static func millis(_ date: Date?) -> Int64? { date.map(StoreCoding.millis) }

    private static func usageRecord(_ row: PostgresRandomAccessRow) throws -> UsageRecord {
        UsageRecord(
            session: try row["session"].decode(String.self), pool: try row["pool"].decode(String.self),
            desktopID: try row["desktop_id"].decode(String.self), desktop: try row["desktop"].decode(String.self),
            user: try row["user"].decode(String.self), version: try row["version"].decode(Int.self),
            requestedAt: StoreCoding.date(try row["requested_at"].decode(Int64.self)),
            provisionedAt: try row["provisioned_at"].decode(Int64?.self).map(StoreCoding.date),
            readyAt: try row["ready_at"].decode(Int64?.self).map(StoreCoding.date),
            firstConnectedAt: try row["first_connected_at"].decode(Int64?.self).map(StoreCoding.date),
            lastDisconnectedAt: try row["last_disconnected_at"].decode(Int64?.self).map(StoreCoding.date),
            connects: try row["connects"].decode(Int.self), endedAt: try row["ended_at"].decode(Int64?.self).map(StoreCoding.date),
            endReason: try row["end_reason"].decode(String?.self), ticketAt: try row["ticket_at"].decode(Int64?.self).map(StoreCoding.date))
    }
}
