public import DeskpoolCore
import GRDB

extension SQLiteStore {
    /// Every row, in one read transaction (a consistent copy even while a broker writes).
    public func snapshot() async throws(DeskpoolError) -> StoreSnapshot {
        try await read { db in
            var snapshot = StoreSnapshot()
            for row in try Row.fetchAll(db, sql: "SELECT name, definition FROM template") { snapshot.templates[row["name"]] = row["definition"] }
            snapshot.versions = try Row.fetchAll(db, sql: "SELECT * FROM templateVersion ORDER BY template, number").map { row in
                TemplateVersion(template: row["template"], number: row["number"], volume: row["volume"], note: row["note"],
                                createdAt: StoreCoding.date(row["createdAt"]), createdBy: row["createdBy"], published: row["published"])
            }
            for row in try Row.fetchAll(db, sql: "SELECT template, lastNumber FROM templateCounter") { snapshot.counters[row["template"]] = row["lastNumber"] }
            snapshot.pools = try Row.fetchAll(db, sql: "SELECT name, spec, generation, draining FROM pool ORDER BY name").map { row in
                StoreSnapshot.Pool(name: row["name"], spec: row["spec"], generation: row["generation"], draining: row["draining"])
            }
            snapshot.desktops = try Self.desktops(db, pool: nil, user: nil)
            snapshot.rollouts = try Row.fetchAll(db, sql: "SELECT id, policy, state, record, createdAt FROM rollout ORDER BY createdAt, id").map { row in
                StoreSnapshot.RolloutRow(id: row["id"], policy: row["policy"], state: row["state"], record: row["record"], createdAt: row["createdAt"])
            }
            snapshot.items = try Row.fetchAll(db, sql: "SELECT rollout, desktop, position, record FROM rolloutItem ORDER BY rollout, position").map { row in
                StoreSnapshot.ItemRow(rollout: row["rollout"], desktop: row["desktop"], position: row["position"], record: row["record"])
            }
            snapshot.audit = try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id").map { row in
                AuditEntry(id: row["id"], at: StoreCoding.date(row["at"]), actor: row["actor"], action: row["action"],
                           subject: row["subject"], result: row["result"], detail: row["detail"])
            }
            snapshot.usage = try Row.fetchAll(db, sql: "SELECT * FROM usageSession ORDER BY requestedAt, session").map(Self.usageRecord)
            snapshot.capacity = try Row.fetchAll(db, sql: "SELECT * FROM capacitySample ORDER BY at, pool").map(Self.capacitySample)
            return snapshot
        }
    }
}
