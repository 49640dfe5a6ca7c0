public import DeskpoolCore
import PostgresNIO

extension PostgresStore {
    @discardableResult
    public func putPool(_ spec: PoolSpec, actor: String) async throws(DeskpoolError) -> PoolSpec {
        try spec.validate()
        return try await write { connection in try await Self.putPool(connection, spec, actor: actor) }
    }

    /// `putPool` (after validation) inside the caller's transaction.
    static func putPool(_ connection: PostgresConnection, _ spec: PoolSpec, actor: String) async throws -> PoolSpec {
        // Two brokers putting one new pool: the second waits, then sees the first's.
        try await lock("pool/\(spec.name)", on: connection)
        let (stored, detail, changed) = try PoolPut.decide(spec, over: try await pool(connection, named: spec.name, forUpdate: true))
        guard changed else {
            try await appendAudit(connection, actor: actor, action: "pool.put", subject: "pool/\(spec.name)", detail: detail)
            return stored
        }
        let json = try StoreCoding.json(stored)
        try await execute("""
            INSERT INTO pool (name, spec, generation) VALUES (\(stored.name), \(json), \(stored.generation))
            ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, generation = excluded.generation
            """, on: connection)
        try await appendAudit(connection, actor: actor, action: "pool.put", subject: "pool/\(spec.name)", detail: detail)
        return stored
    }

    public func pool(named name: String) async throws(DeskpoolError) -> PoolSpec? {
        try await read { connection in try await Self.pool(connection, named: name) }
    }

    public func pools() async throws(DeskpoolError) -> [PoolSpec] {
        try await read { connection in try await Self.allPools(connection) }
    }

    public func drainPool(named name: String, actor: String) async throws(DeskpoolError) -> PoolSpec {
        try await write { connection in
            guard var pool = try await Self.pool(connection, named: name, forUpdate: true) else {
                throw DeskpoolError(.notFound, "no pool named \(name)", field: "pool")
            }
            if !pool.draining {
                try await Self.execute("UPDATE pool SET draining = TRUE WHERE name = \(name)", on: connection)
                try await Self.appendAudit(connection, actor: actor, action: "pool.delete", subject: "pool/\(name)", detail: "draining")
                pool.draining = true
            }
            return pool
        }
    }

    public func deleteDrainedPool(named name: String, actor: String) async throws(DeskpoolError) -> Bool {
        try await write { connection in
            try await Self.lock("pool/\(name)", on: connection)
            guard let pool = try await Self.pool(connection, named: name, forUpdate: true), pool.draining else { return false }
            let left = try await Self.rows("SELECT COUNT(*) AS n FROM desktop WHERE pool = \(name)", on: connection)[0]["n"].decode(Int.self)
            guard left == 0 else { return false }
            try await Self.execute("DELETE FROM pool WHERE name = \(name)", on: connection)
            try await Self.appendAudit(connection, actor: actor, action: "pool.delete", subject: "pool/\(name)", detail: "deleted, no desktops left")
            return true
        }
    }

    // MARK: - Rows

    static func pool(_ connection: PostgresConnection, named name: String, forUpdate: Bool = false) async throws -> PoolSpec? {
        let query: PostgresQuery = forUpdate
            ? "SELECT spec, generation, draining FROM pool WHERE name = \(name) FOR UPDATE"
            : "SELECT spec, generation, draining FROM pool WHERE name = \(name)"
        return try await rows(query, on: connection).first.map(poolSpec)
    }

    static func allPools(_ connection: PostgresConnection) async throws -> [PoolSpec] {
        try await rows("SELECT spec, generation, draining FROM pool ORDER BY name", on: connection).map(poolSpec)
    }

    /// The column, not the JSON, holds the generation of record.
    private static func poolSpec(_ row: PostgresRandomAccessRow) throws -> PoolSpec {
        var spec = try DecodedPools.shared.spec(json: try row["spec"].decode(String.self))
        spec.generation = try row["generation"].decode(Int.self)
        spec.draining = try row["draining"].decode(Bool.self)
        return spec
    }
}
