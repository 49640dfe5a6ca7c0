public import DeskpoolCore
import Foundation
import PostgresNIO

extension PostgresStore {
    /// The server's clock in milliseconds since 1970: every replica's lease runs by it.
    private static let serverMillis = "(extract(epoch from clock_timestamp()) * 1000)::bigint"

    public func takeLease(_ name: String, holder: String, renewing generation: Int64?, for duration: Duration) async throws(DeskpoolError) -> Lease? {
        let millis = Int64(duration / .milliseconds(1))
        return try await transaction(fence: nil) { connection in
            // One statement: a lease that runs for someone else is left alone, anything else
            // is renewed (same holder and generation) or taken (generation one more).
            guard let row = try await Self.rows("""
                INSERT INTO lease AS l (name, holder, generation, expires_at) VALUES (\(name), \(holder), 1, \(unescaped: Self.serverMillis) + \(millis))
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
                    generation = CASE WHEN l.holder = excluded.holder AND l.generation = \(generation) THEN l.generation ELSE l.generation + 1 END
                WHERE (l.holder = excluded.holder AND l.generation = \(generation)) OR l.expires_at <= \(unescaped: Self.serverMillis)
                RETURNING generation, expires_at
                """, on: connection).first else { return nil }
            return Lease(name: name, holder: holder, generation: try row["generation"].decode(Int64.self),
                         expiresAt: StoreCoding.date(try row["expires_at"].decode(Int64.self)), live: true)
        }
    }

    public func releaseLease(_ name: String, holder: String, generation: Int64) async throws(DeskpoolError) {
        try await transaction(fence: nil) { connection in
            _ = try await Self.execute("""
                UPDATE lease SET expires_at = \(unescaped: Self.serverMillis) WHERE name = \(name) AND holder = \(holder) AND generation = \(generation)
                """, on: connection)
        }
    }

    public func leases() async throws(DeskpoolError) -> [Lease] {
        try await read { connection in
            try await Self.rows("""
                SELECT name, holder, generation, expires_at, expires_at > \(unescaped: Self.serverMillis) AS live FROM lease ORDER BY name
                """, on: connection).map { row in
                Lease(name: try row["name"].decode(String.self), holder: try row["holder"].decode(String.self),
                      generation: try row["generation"].decode(Int64.self), expiresAt: StoreCoding.date(try row["expires_at"].decode(Int64.self)),
                      live: try row["live"].decode(Bool.self))
            }
        }
    }

    /// Refuses a write whose lease moved on; the row stays share-locked until the commit.
    static func checkFence(_ fence: LeaseFence, on connection: PostgresConnection) async throws {
        let row = try await rows("SELECT holder, generation FROM lease WHERE name = \(fence.name) FOR SHARE", on: connection).first
        guard let row, try row["generation"].decode(Int64.self) == fence.generation else {
            throw fence.lost(holder: try row?["holder"].decode(String.self))
        }
    }
}
