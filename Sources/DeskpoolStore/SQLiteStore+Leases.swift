public import DeskpoolCore
import Foundation
import GRDB

extension SQLiteStore {
    public func takeLease(_ name: String, holder: String, renewing generation: Int64?, for duration: Duration) async throws(DeskpoolError) -> Lease? {
        try await write(unfenced: true) { db in
            let now = StoreCoding.millis(Date())
            let expires = now + Int64(duration / .milliseconds(1))
            let current = try Row.fetchOne(db, sql: "SELECT holder, generation, expiresAt FROM lease WHERE name = ?", arguments: [name])
            let next: Int64
            if let current {
                let (held, gen, until): (String, Int64, Int64) = (current["holder"], current["generation"], current["expiresAt"])
                if held == holder && gen == generation {
                    next = gen
                } else if until <= now {
                    next = gen + 1
                } else {
                    return nil
                }
            } else {
                next = 1
            }
            try db.execute(sql: """
                INSERT INTO lease (name, holder, generation, expiresAt) VALUES (?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, generation = excluded.generation, expiresAt = excluded.expiresAt
                """, arguments: [name, holder, next, expires])
            return Lease(name: name, holder: holder, generation: next, expiresAt: StoreCoding.date(expires), live: true)
        }
    }

    public func releaseLease(_ name: String, holder: String, generation: Int64) async throws(DeskpoolError) {
        try await write(unfenced: true) { db in
            try db.execute(sql: "UPDATE lease SET expiresAt = ? WHERE name = ? AND holder = ? AND generation = ?",
                           arguments: [StoreCoding.millis(Date()), name, holder, generation])
        }
    }

    public func leases() async throws(DeskpoolError) -> [Lease] {
        try await read { db in
            let now = StoreCoding.millis(Date())
            return try Row.fetchAll(db, sql: "SELECT * FROM lease ORDER BY name").map { row in
                let expires: Int64 = row["expiresAt"]
                return Lease(name: row["name"], holder: row["holder"], generation: row["generation"], expiresAt: StoreCoding.date(expires), live: expires > now)
            }
        }
    }

    /// Refuses a write whose lease moved on (another generation, or no lease at all).
    static func checkFence(_ fence: LeaseFence, _ db: Database) throws {
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT holder, generation FROM lease WHERE name = ?"), arguments: [fence.name])
        guard let row, (row["generation"] as Int64) == fence.generation else { throw fence.lost(holder: row?["holder"]) }
    }
}
