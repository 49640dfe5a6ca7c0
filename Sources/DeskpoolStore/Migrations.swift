import GRDB

/// The store's schema. A migration, once released, is never edited: a change is a new one.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Definitions and specs are kept whole as JSON: the broker reads them whole, and a
            // new field needs no migration.
            try db.create(table: "template") { t in
                t.primaryKey("name", .text)
                t.column("definition", .text).notNull()
            }
            try db.create(table: "templateVersion") { t in
                t.column("template", .text).notNull()
                t.column("number", .integer).notNull()
                t.column("volume", .text).notNull()
                t.column("note", .text).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("createdBy", .text).notNull()
                t.column("published", .boolean).notNull()
                t.primaryKey(["template", "number"])
            }
            // The highest version number ever handed out, kept when versions are deleted: a
            // number names a base volume, and a reused name could mean a different image.
            try db.create(table: "templateCounter") { t in
                t.primaryKey("template", .text)
                t.column("lastNumber", .integer).notNull()
            }
            try db.create(table: "pool") { t in
                t.primaryKey("name", .text)
                t.column("spec", .text).notNull()
                t.column("generation", .integer).notNull()
            }
            try db.create(table: "desktop") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull().unique()
                t.column("pool", .text).notNull()
                t.column("host", .text).notNull()
                t.column("template", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("state", .text).notNull()
                t.column("reason", .text)
                t.column("user", .text)
                t.column("incarnation", .integer).notNull()
                t.column("generation", .integer).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("updatedAt", .integer).notNull()
            }
            try db.create(index: "desktop_pool_state", on: "desktop", columns: ["pool", "state"])
            try db.create(index: "desktop_user", on: "desktop", columns: ["user"])
            try db.create(table: "audit") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .integer).notNull()
                t.column("actor", .text).notNull()
                t.column("action", .text).notNull()
                t.column("subject", .text).notNull()
                t.column("result", .text).notNull()
                t.column("detail", .text).notNull()
            }
            try db.create(index: "audit_subject", on: "audit", columns: ["subject", "id"])
        }
        migrator.registerMigration("v2") { db in
            // Sessions (issue 4): connect tokens name the session, timeouts count from its start.
            try db.alter(table: "desktop") { t in
                t.add(column: "sessionID", .text)
                t.add(column: "sessionStartedAt", .integer)
                t.add(column: "client", .text)
            }
        }
        migrator.registerMigration("v3") { db in
            // Pool deletion with drain (issue 5), and audit filters by actor and action.
            try db.alter(table: "pool") { t in t.add(column: "draining", .boolean).notNull().defaults(to: false) }
            try db.create(index: "audit_actor", on: "audit", columns: ["actor", "id"])
            try db.create(index: "audit_action", on: "audit", columns: ["action", "id"])
        }
        migrator.registerMigration("v4") { db in
            // Rollouts of bulk policies (issue 6): the record and each desktop's item are kept
            // whole as JSON; the columns are what lists filter and order by.
            try db.alter(table: "desktop") { t in t.add(column: "targetVersion", .integer) }
            try db.create(table: "rollout") { t in
                t.primaryKey("id", .text)
                t.column("policy", .text).notNull()
                t.column("state", .text).notNull()
                t.column("record", .text).notNull()
                t.column("createdAt", .integer).notNull()
            }
            try db.create(index: "rollout_state", on: "rollout", columns: ["state"])
            try db.create(table: "rolloutItem") { t in
                t.column("rollout", .text).notNull().references("rollout", onDelete: .cascade)
                t.column("desktop", .text).notNull()
                t.column("position", .integer).notNull()
                t.column("record", .text).notNull()
                t.primaryKey(["rollout", "desktop"])
            }
        }
        migrator.registerMigration("v5") { db in
            // Readiness (issue 15): /readyz proves the store takes writes by rewriting this
            // one row, so a full disk or a read-only store makes the broker unready.
            try db.create(table: "writeProbe") { t in
                t.primaryKey("id", .integer).check { $0 == 1 }
                t.column("at", .double).notNull()
            }
        }
        migrator.registerMigration("v6") { db in
            // Login sessions in the store (issue 17): they survive a restart, and every broker
            // on one store knows them. Keyed by the token's SHA-256; the token is never stored.
            try db.create(table: "login") { t in
                t.primaryKey("key", .text)
                t.column("record", .text).notNull()
                t.column("expiresAt", .integer).notNull()
                t.column("lastUsed", .integer).notNull()
            }
        }
        migrator.registerMigration("v7") { db in
            // Secrets every broker on the store shares (the console-token key with PostgreSQL).
            try db.create(table: "secret") { t in
                t.primaryKey("name", .text)
                t.column("value", .blob).notNull()
            }
        }
        migrator.registerMigration("v8") { db in
            // Failed logins counted for every broker on the store (the login throttle). An
            // address's own count has the user "".
            try db.create(table: "loginFailure") { t in
                t.column("user", .text).notNull()
                t.column("address", .text).notNull()
                t.column("failures", .integer).notNull()
                t.column("last", .integer).notNull()
                t.primaryKey(["user", "address"])
            }
        }
        migrator.registerMigration("v9") { db in
            // Work shared by broker replicas: who runs it, at which generation, until when
            // (milliseconds since 1970).
            try db.create(table: "lease") { t in
                t.primaryKey("name", .text)
                t.column("holder", .text).notNull()
                t.column("generation", .integer).notNull()
                t.column("expiresAt", .integer).notNull()
            }
        }
        migrator.registerMigration("v10") { db in
            // PAM conversations waiting for their user, known to every broker on the store:
            // keyed by the challenge id's SHA-256 (the id is never stored); relayed answers and
            // their outcome are sealed with a key only the client and the owner can derive.
            try db.create(table: "loginChallenge") { t in
                t.primaryKey("key", .text)
                t.column("owner", .text).notNull()
                t.column("user", .text).notNull()
                t.column("address", .text).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("expiresAt", .integer).notNull()
                t.column("answeredAt", .integer)
                t.column("answers", .blob)
                t.column("outcome", .blob)
            }
            try db.create(index: "loginChallenge_owner", on: "loginChallenge", columns: ["owner"])
            try db.create(index: "loginChallenge_expiresAt", on: "loginChallenge", columns: ["expiresAt"])
        }
        migrator.registerMigration("v11") { db in
            // The usage history: one row per desktop session, written in the same transaction
            // as the desktop change it follows (`UsageLedger`), kept for the retention days.
            try db.create(table: "usageSession") { t in
                t.primaryKey("session", .text)
                t.column("pool", .text).notNull()
                t.column("desktopID", .text).notNull()
                t.column("desktop", .text).notNull()
                t.column("user", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("requestedAt", .integer).notNull()
                t.column("provisionedAt", .integer)
                t.column("readyAt", .integer)
                t.column("firstConnectedAt", .integer)
                t.column("lastDisconnectedAt", .integer)
                t.column("endedAt", .integer)
                t.column("connects", .integer).notNull().defaults(to: 0)
                t.column("endReason", .text)
            }
            try db.create(index: "usageSession_pool", on: "usageSession", columns: ["pool", "requestedAt"])
            try db.create(index: "usageSession_user", on: "usageSession", columns: ["user", "requestedAt"])
            try db.create(index: "usageSession_endedAt", on: "usageSession", columns: ["endedAt"])
        }
        migrator.registerMigration("v12") { db in
            // Pools' capacity over time (ready, saved, in use, preparing), sampled by the
            // reconciler for the usage page; kept as long as the usage history.
            try db.create(table: "capacitySample") { t in
                t.column("pool", .text).notNull()
                t.column("at", .integer).notNull()
                t.column("ready", .integer).notNull()
                t.column("saved", .integer).notNull()
                t.column("inUse", .integer).notNull()
                t.column("preparing", .integer).notNull()
                t.primaryKey(["pool", "at"])
            }
            try db.create(index: "capacitySample_at", on: "capacitySample", columns: ["at"])
            // The first console ticket of a session: the wait's ticket phase.
            try db.alter(table: "usageSession") { t in t.add(column: "ticketAt", .integer) }
        }
        return migrator
    }

    /// Applies the pending migrations.
    static func migrate(_ writer: any DatabaseWriter) throws {
        do {
            try migrator.migrate(writer)
        } catch {
            // GRDB reads the applied migrations before it takes the write lock, so when two
            // processes open a new file at once the slower one re-runs "v1" and fails. By
            // then the faster one has committed: a second pass finds nothing to do.
            try migrator.migrate(writer)
        }
    }
}
