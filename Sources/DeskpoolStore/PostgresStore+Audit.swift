public import DeskpoolCore
public import Foundation
import PostgresNIO

extension PostgresStore {
    public func audit(_ entry: AuditEntry) async throws(DeskpoolError) {
        try await write { connection in
            try await Self.execute("""
                INSERT INTO audit (at, actor, action, subject, result, detail)
                VALUES (\(StoreCoding.millis(entry.at)), \(entry.actor), \(entry.action), \(entry.subject), \(entry.result), \(entry.detail))
                """, on: connection)
        }
    }

    public func auditLog(_ query: AuditQuery) async throws(DeskpoolError) -> [AuditEntry] {
        try await read { connection in
            // The id, not `at`, orders the log: clocks step back, a sequence never does.
            var conditions: [String] = []
            var binds = PostgresBindings()
            for (column, value) in [("subject", query.subject), ("actor", query.actor), ("action", query.action)] {
                if let value {
                    binds.append(value)
                    conditions.append("\(column) = $\(binds.count)")
                }
            }
            if let before = query.before {
                binds.append(before)
                conditions.append("id < $\(binds.count)")
            }
            binds.append(max(0, query.limit))
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let sql = "SELECT * FROM audit \(filter) ORDER BY id DESC LIMIT $\(binds.count)"
            return try await Self.rows(PostgresQuery(unsafeSQL: sql, binds: binds), on: connection).map { row in
                AuditEntry(id: try row["id"].decode(Int64.self), at: StoreCoding.date(try row["at"].decode(Int64.self)),
                           actor: try row["actor"].decode(String.self), action: try row["action"].decode(String.self),
                           subject: try row["subject"].decode(String.self), result: try row["result"].decode(String.self),
                           detail: try row["detail"].decode(String.self))
            }
        }
    }

    /// A write that commits; a database that cannot take one (unreachable, read-only, out of
    /// space) throws `storeFailed`.
    public func probeWrite(at date: Date) async throws(DeskpoolError) {
        try await write { connection in
            try await Self.execute("""
                INSERT INTO write_probe (id, at) VALUES (1, \(date.timeIntervalSince1970)) ON CONFLICT (id) DO UPDATE SET at = excluded.at
                """, on: connection)
        }
    }
}
