public import DeskpoolCore
import Foundation
import PostgresNIO

extension PostgresStore {
    /// Writes a snapshot into this database, which must hold nothing yet (refused with
    /// `.conflict` otherwise, changing nothing), in one transaction, and audits the copy.
    public func load(_ snapshot: StoreSnapshot, actor: String, from source: String) async throws(DeskpoolError) {
        // One transaction, however long the copy takes.
        try await write(timeout: .seconds(3600)) { connection in
            let held = try await Self.rows("""
                SELECT (SELECT COUNT(*) FROM template) + (SELECT COUNT(*) FROM pool) + (SELECT COUNT(*) FROM desktop)
                     + (SELECT COUNT(*) FROM rollout) + (SELECT COUNT(*) FROM audit) AS n
                """, on: connection)[0]["n"].decode(Int.self)
            guard held == 0 else {
                throw DeskpoolError(.conflict, "the database already holds a Deskpool store (\(held) rows): copy only into an empty one")
            }
            for (name, definition) in snapshot.templates.sorted(by: { $0.key < $1.key }) {
                try await Self.execute("INSERT INTO template (name, definition) VALUES (\(name), \(definition))", on: connection)
            }
            for v in snapshot.versions {
                try await Self.execute("""
                    INSERT INTO template_version (template, number, volume, note, created_at, created_by, published)
                    VALUES (\(v.template), \(v.number), \(v.volume), \(v.note), \(StoreCoding.millis(v.createdAt)), \(v.createdBy), \(v.published))
                    """, on: connection)
            }
            for (template, last) in snapshot.counters.sorted(by: { $0.key < $1.key }) {
                try await Self.execute("INSERT INTO template_counter (template, last_number) VALUES (\(template), \(last))", on: connection)
            }
            for p in snapshot.pools {
                try await Self.execute("""
                    INSERT INTO pool (name, spec, generation, draining) VALUES (\(p.name), \(p.spec), \(p.generation), \(p.draining))
                    """, on: connection)
            }
            for desktop in snapshot.desktops { try await Self.execute(Self.insert(desktop), on: connection) }
            for r in snapshot.rollouts {
                try await Self.execute("""
                    INSERT INTO rollout (id, policy, state, record, created_at) VALUES (\(r.id), \(r.policy), \(r.state), \(r.record), \(r.createdAt))
                    """, on: connection)
            }
            for i in snapshot.items {
                try await Self.execute("""
                    INSERT INTO rollout_item (rollout, desktop, position, record) VALUES (\(i.rollout), \(i.desktop), \(i.position), \(i.record))
                    """, on: connection)
            }
            // The audit log in batches, ids kept; the sequence then continues after them.
            var start = 0
            while start < snapshot.audit.count {
                let batch = snapshot.audit[start..<min(start + 1000, snapshot.audit.count)]
                start += batch.count
                let ids = batch.map { $0.id ?? 0 }, at = batch.map { StoreCoding.millis($0.at) }
                let actors = batch.map(\.actor), actions = batch.map(\.action), subjects = batch.map(\.subject)
                let results = batch.map(\.result), details = batch.map(\.detail)
                try await Self.execute("""
                    INSERT INTO audit (id, at, actor, action, subject, result, detail)
                    SELECT * FROM unnest(\(ids)::BIGINT[], \(at)::BIGINT[], \(actors)::TEXT[], \(actions)::TEXT[], \(subjects)::TEXT[],
                                         \(results)::TEXT[], \(details)::TEXT[])
                    """, on: connection)
            }
            try await Self.execute("SELECT setval(pg_get_serial_sequence('audit', 'id'), GREATEST((SELECT MAX(id) FROM audit), 1))", on: connection)
            // The usage history as it was: each record whole.
            for record in snapshot.usage { try await Self.applyUsage(connection, [.begin(record)]) }
            for sample in snapshot.capacity {
                try await Self.execute("""
                    INSERT INTO capacity_sample (pool, at, ready, saved, in_use, preparing)
                    VALUES (\(sample.pool), \(StoreCoding.millis(sample.at)), \(sample.ready), \(sample.saved), \(sample.inUse), \(sample.preparing))
                    """, on: connection)
            }
            try await Self.appendAudit(connection, actor: actor, action: "store.copy", subject: "store",
                                       detail: "copied from \(source): \(snapshot.summary)")
        }
    }
}
