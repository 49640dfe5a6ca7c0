public import DeskpoolCore
import GRDB

extension SQLiteStore {
    public func audit(_ entry: AuditEntry) async throws(DeskpoolError) {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO audit (at, actor, action, subject, result, detail) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [Self.millis(entry.at), entry.actor, entry.action, entry.subject, entry.result, entry.detail])
        }
    }

    public func auditLog(subject: String?, limit: Int) async throws(DeskpoolError) -> [AuditEntry] {
        try await read { db in
            let rows: [Row]
            // The id, not `at`, orders the log: clocks step back, AUTOINCREMENT never does.
            if let subject {
                rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM audit WHERE subject = ? ORDER BY id DESC LIMIT ?", arguments: [subject, limit])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id DESC LIMIT ?", arguments: [limit])
            }
            return rows.map { row in
                AuditEntry(id: row["id"], at: Self.date(row["at"]), actor: row["actor"], action: row["action"],
                           subject: row["subject"], result: row["result"], detail: row["detail"])
            }
        }
    }
}
