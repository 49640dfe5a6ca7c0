import DeskpoolCore
import Foundation
import PostgresNIO

/// The PostgreSQL schema: the same tables as SQLite's (`Migrations`), in PostgreSQL's words.
/// A migration, once released, is never edited: a change is a new one. Each runs in its own
/// transaction under an advisory lock, so brokers that start together migrate once.
enum PostgresSchema {
    static let migrations: [(name: String, statements: [PostgresQuery])] = [
        ("v1", [
            // Definitions, specs and rollout records are kept whole as JSON text, as in SQLite:
            // the broker reads them whole, and a new field needs no migration.
            "CREATE TABLE template (name TEXT PRIMARY KEY, definition TEXT NOT NULL)",
            """
            CREATE TABLE template_version (template TEXT NOT NULL, number BIGINT NOT NULL, volume TEXT NOT NULL, note TEXT NOT NULL,
                created_at BIGINT NOT NULL, created_by TEXT NOT NULL, published BOOLEAN NOT NULL, PRIMARY KEY (template, number))
            """,
            // The highest version number ever handed out, kept when versions are deleted.
            "CREATE TABLE template_counter (template TEXT PRIMARY KEY, last_number BIGINT NOT NULL)",
            "CREATE TABLE pool (name TEXT PRIMARY KEY, spec TEXT NOT NULL, generation BIGINT NOT NULL, draining BOOLEAN NOT NULL DEFAULT FALSE)",
            """
            CREATE TABLE desktop (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, pool TEXT NOT NULL, host TEXT NOT NULL, template TEXT NOT NULL,
                version BIGINT NOT NULL, state TEXT NOT NULL, reason TEXT, "user" TEXT, incarnation BIGINT NOT NULL, generation BIGINT NOT NULL,
                session_id TEXT, session_started_at BIGINT, client TEXT, target_version BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX desktop_pool_state ON desktop (pool, state)",
            "CREATE INDEX desktop_user ON desktop (\"user\")",
            """
            CREATE TABLE audit (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,
                result TEXT NOT NULL, detail TEXT NOT NULL)
            """,
            "CREATE INDEX audit_subject ON audit (subject, id)",
            "CREATE INDEX audit_actor ON audit (actor, id)",
            "CREATE INDEX audit_action ON audit (action, id)",
            "CREATE TABLE rollout (id TEXT PRIMARY KEY, policy TEXT NOT NULL, state TEXT NOT NULL, record TEXT NOT NULL, created_at BIGINT NOT NULL)",
            "CREATE INDEX rollout_state ON rollout (state)",
            """
            CREATE TABLE rollout_item (rollout TEXT NOT NULL REFERENCES rollout (id) ON DELETE CASCADE, desktop TEXT NOT NULL,
                position BIGINT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (rollout, desktop))
            """,
            // Readiness: /readyz proves the store takes writes by rewriting this one row.
            "CREATE TABLE write_probe (id BIGINT PRIMARY KEY CHECK (id = 1), at DOUBLE PRECISION NOT NULL)",
        ]),
        ("v2", [
            // Login sessions, by the token's SHA-256 (the token is never stored).
            "CREATE TABLE login (key TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at BIGINT NOT NULL, last_used BIGINT NOT NULL)",
        ]),
        ("v3", [
            // Secrets every broker on the database shares (the console-token key).
            "CREATE TABLE secret (name TEXT PRIMARY KEY, value BYTEA NOT NULL)",
        ]),
        ("v4", [
            // Failed logins counted for every broker (the login throttle); an address's own
            // count has the user "".
            """
            CREATE TABLE login_failure ("user" TEXT NOT NULL, address TEXT NOT NULL, failures BIGINT NOT NULL, last BIGINT NOT NULL,
                PRIMARY KEY ("user", address))
            """,
        ]),
        ("v5", [
            // Work shared by broker replicas: who runs it, at which generation, until when
            // (milliseconds since 1970, by the server's clock).
            "CREATE TABLE lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, generation BIGINT NOT NULL, expires_at BIGINT NOT NULL)",
        ]),
        ("v6", [
            // PAM conversations waiting for their user, by the challenge id's SHA-256 (the id is
            // never stored); relayed answers and their outcome are sealed.
            """
            CREATE TABLE login_challenge (key TEXT PRIMARY KEY, owner TEXT NOT NULL, "user" TEXT NOT NULL, address TEXT NOT NULL,
                created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, answered_at BIGINT, answers BYTEA, outcome BYTEA)
            """,
            "CREATE INDEX login_challenge_owner ON login_challenge (owner)",
            "CREATE INDEX login_challenge_expires_at ON login_challenge (expires_at)",
        ]),
        ("v7", [
            // The usage history: one row per desktop session, written in the same transaction
            // as the desktop change it follows (`UsageLedger`).
            """
            CREATE TABLE usage_session (session TEXT PRIMARY KEY, pool TEXT NOT NULL, desktop_id TEXT NOT NULL, desktop TEXT NOT NULL,
                "user" TEXT NOT NULL, version BIGINT NOT NULL, requested_at BIGINT NOT NULL, provisioned_at BIGINT, ready_at BIGINT,
                first_connected_at BIGINT, last_disconnected_at BIGINT, ended_at BIGINT, connects BIGINT NOT NULL DEFAULT 0, end_reason TEXT)
            """,
            "CREATE INDEX usage_session_pool ON usage_session (pool, requested_at)",
            "CREATE INDEX usage_session_user ON usage_session (\"user\", requested_at)",
            "CREATE INDEX usage_session_ended_at ON usage_session (ended_at)",
        ]),
        ("v8", [
            // Pools' capacity over time, sampled by the reconciler for the usage page.
            """
            CREATE TABLE capacity_sample (pool TEXT NOT NULL, at BIGINT NOT NULL, ready BIGINT NOT NULL, saved BIGINT NOT NULL,
                in_use BIGINT NOT NULL, preparing BIGINT NOT NULL, PRIMARY KEY (pool, at))
            """,
            "CREATE INDEX capacity_sample_at ON capacity_sample (at)",
            // The first console ticket of a session: the wait's ticket phase.
            "ALTER TABLE usage_session ADD COLUMN ticket_at BIGINT",
        ]),
    ]

    /// Applies the pending migrations.
    static func migrate(_ store: PostgresStore) async throws(DeskpoolError) {
        // However long the migrations take: they run once, at start.
        try await store.write(timeout: .seconds(600)) { connection in
            try await PostgresStore.lock("deskpool.migrate", on: connection)
            try await PostgresStore.execute("""
                CREATE TABLE IF NOT EXISTS deskpool_migration (name TEXT PRIMARY KEY, applied_order BIGSERIAL, applied_at BIGINT NOT NULL)
                """, on: connection)
            let applied = Set(try await PostgresStore.rows("SELECT name FROM deskpool_migration", on: connection)
                .map { try $0["name"].decode(String.self) })
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try await PostgresStore.execute(statement, on: connection) }
                try await PostgresStore.execute("""
                    INSERT INTO deskpool_migration (name, applied_at) VALUES (\(migration.name), \(StoreCoding.millis(Date())))
                    """, on: connection)
            }
        }
    }
}
