public import DeskpoolCore
import GRDB

extension SQLiteStore {
    public func audit(_ entry: AuditEntry) async throws(DeskpoolError) {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO audit (at, actor, action, subject, result, detail) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [StoreCoding.millis(entry.at), entry.actor, entry.action, entry.subject, entry.result, entry.detail])
        }
    }

    public func auditLog(_ query: AuditQuery) async throws(DeskpoolError) -> [AuditEntry] {
        try await read { db in
            // The id, not `at`, orders the log: clocks step back, AUTOINCREMENT never does.
            var conditions: [String] = []
            var arguments: StatementArguments = []
            for (column, value) in [("subject", query.subject), ("actor", query.actor), ("action", query.action)] {
                if let value {
                    conditions.append("\(column) = ?")
                    arguments += [value]
                }
            }
            if let before = query.before {
                conditions.append("id < ?")
                arguments += [before]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [query.limit]
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM audit \(filter) ORDER BY id DESC LIMIT ?", arguments: arguments)
            return rows.map { row in
                AuditEntry(id: row["id"], at: StoreCoding.date(row["at"]), actor: row["actor"], action: row["action"],
                           subject: row["subject"], result: row["result"], detail: row["detail"])
            }
        }
    }
}
