public import DeskpoolCore
public import Foundation
import GRDB

extension SQLiteStore {
    public func usage(_ query: UsageQuery) async throws(DeskpoolError) -> [UsageRecord] {
        try await read { db in
            var conditions: [String] = []
            var arguments = StatementArguments()
            if let pool = query.pool {
                conditions.append("pool = ?")
                arguments += [pool]
            }
            if let user = query.user {
                conditions.append("user = ?")
                arguments += [user]
            }
            if let from = query.from {
                // Overlapping the period: still open, or ended at or after its start.
                conditions.append("(endedAt IS NULL OR endedAt >= ?)")
                arguments += [StoreCoding.millis(from)]
            }
            if let to = query.to {
                conditions.append("requestedAt < ?")
                arguments += [StoreCoding.millis(to)]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            // Int.max asks for everything: clamped to what any SQL LIMIT takes.
            arguments += [min(max(0, query.limit), Int(Int32.max))]
            return try Row.fetchAll(db, sql: "SELECT * FROM usageSession \(filter) ORDER BY requestedAt, session LIMIT ?", arguments: arguments)
                .map(Self.usageRecord)
        }
    }

    @discardableResult
    public func deleteUsage(endedBefore before: Date) async throws(DeskpoolError) -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM usageSession WHERE endedAt < ?", arguments: [StoreCoding.millis(before)])
            return db.changesCount
        }
    }

    public func noteUsageTicket(session: String, at: Date) async throws(DeskpoolError) {
        try await write { db in
            try db.cachedStatement(sql: "UPDATE usageSession SET ticketAt = COALESCE(ticketAt, ?) WHERE session = ?")
                .execute(arguments: [StoreCoding.millis(at), session])
        }
    }

    public func recordCapacity(_ samples: [CapacitySample]) async throws(DeskpoolError) {
        guard !samples.isEmpty else { return }
        try await write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO capacitySample (pool, at, ready, saved, inUse, preparing) VALUES (?, ?, ?, ?, ?, ?)
                """)
            for sample in samples {
                try statement.execute(arguments: [sample.pool, StoreCoding.millis(sample.at), sample.ready, sample.saved, sample.inUse, sample.preparing])
            }
        }
    }

    public func capacitySamples(pool: String, from: Date, to: Date, limit: Int) async throws(DeskpoolError) -> [CapacitySample] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM capacitySample WHERE pool = ? AND at >= ? AND at < ? ORDER BY at LIMIT ?",
                             arguments: [pool, StoreCoding.millis(from), StoreCoding.millis(to), min(max(0, limit), Int(Int32.max))])
                .map(Self.capacitySample)
        }
    }

    @discardableResult
    public func deleteCapacitySamples(before: Date) async throws(DeskpoolError) -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM capacitySample WHERE at < ?", arguments: [StoreCoding.millis(before)])
            return db.changesCount
        }
    }

    static func capacitySample(_ row: Row) -> CapacitySample {
        CapacitySample(pool: row["pool"], at: StoreCoding.date(row["at"]), ready: row["ready"], saved: row["saved"],
                       inUse: row["inUse"], preparing: row["preparing"])
    }

    /// Applies a desktop change's usage changes (`UsageLedger.changes`) inside the caller's
    /// transaction. A session begun twice keeps its first record; the first provisioning,
    /// readiness, connection and end are kept.
    static func applyUsage(_ db: Database, _ changes: [UsageLedger.Change]) throws {
        // Cached statements: a rollout pass changes hundreds of desktops in one transaction.
        for change in changes {
            switch change {
            case .begin(let r):
                try db.cachedStatement(sql: """
                    INSERT INTO usageSession (session, pool, desktopID, desktop, user, version, requestedAt, provisionedAt, readyAt,
                        firstConnectedAt, lastDisconnectedAt, endedAt, connects, endReason, ticketAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (session) DO NOTHING
                    """).execute(arguments: [
                        r.session, r.pool, r.desktopID, r.desktop, r.user, r.version, StoreCoding.millis(r.requestedAt), millis(r.provisionedAt),
                        millis(r.readyAt), millis(r.firstConnectedAt), millis(r.lastDisconnectedAt), millis(r.endedAt), r.connects, r.endReason,
                        millis(r.ticketAt),
                    ])
            case .provisioned(let session, let at):
                try db.cachedStatement(sql: "UPDATE usageSession SET provisionedAt = ? WHERE session = ? AND provisionedAt IS NULL")
                    .execute(arguments: [StoreCoding.millis(at), session])
            case .ready(let session, let at):
                try db.cachedStatement(sql: "UPDATE usageSession SET readyAt = ? WHERE session = ? AND readyAt IS NULL")
                    .execute(arguments: [StoreCoding.millis(at), session])
            case .connected(let session, let at):
                try db.cachedStatement(sql: """
                    UPDATE usageSession SET firstConnectedAt = COALESCE(firstConnectedAt, ?), connects = connects + 1 WHERE session = ?
                    """).execute(arguments: [StoreCoding.millis(at), session])
            case .disconnected(let session, let at):
                try db.cachedStatement(sql: "UPDATE usageSession SET lastDisconnectedAt = ? WHERE session = ?")
                    .execute(arguments: [StoreCoding.millis(at), session])
            case .end(let session, let at, let reason):
                try db.cachedStatement(sql: "UPDATE usageSession SET endedAt = ?, endReason = ? WHERE session = ? AND endedAt IS NULL")
                    .execute(arguments: [StoreCoding.millis(at), reason, session])
            }
        }
    }

    private static func millis(_ date: Date?) -> Int64? { date.map(StoreCoding.millis) }

    static func usageRecord(_ row: Row) -> UsageRecord {
        UsageRecord(session: row["session"], pool: row["pool"], desktopID: row["desktopID"], desktop: row["desktop"], user: row["user"],
                    version: row["version"], requestedAt: StoreCoding.date(row["requestedAt"]),
                    provisionedAt: (row["provisionedAt"] as Int64?).map(StoreCoding.date),
                    readyAt: (row["readyAt"] as Int64?).map(StoreCoding.date),
                    firstConnectedAt: (row["firstConnectedAt"] as Int64?).map(StoreCoding.date),
                    lastDisconnectedAt: (row["lastDisconnectedAt"] as Int64?).map(StoreCoding.date), connects: row["connects"],
                    endedAt: (row["endedAt"] as Int64?).map(StoreCoding.date), endReason: row["endReason"],
                    ticketAt: (row["ticketAt"] as Int64?).map(StoreCoding.date))
    }
}
