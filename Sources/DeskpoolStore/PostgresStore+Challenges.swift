public import DeskpoolCore
public import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore {
    private static let challengeColumns = "key, owner, \"user\", address, created_at, expires_at, answered_at, answers, outcome"

    public func putChallenge(_ challenge: LoginChallenge) async throws(DeskpoolError) {
        try await write { connection in
            try await Self.execute("""
                INSERT INTO login_challenge (\(unescaped: Self.challengeColumns))
                VALUES (\(challenge.key), \(challenge.owner), \(challenge.user), \(challenge.address), \(StoreCoding.millis(challenge.createdAt)),
                        \(StoreCoding.millis(challenge.expiresAt)), \(challenge.answeredAt.map(StoreCoding.millis)),
                        \(challenge.answers.map { ByteBuffer(bytes: $0) }), \(challenge.outcome.map { ByteBuffer(bytes: $0) }))
                """, on: connection)
        }
    }

    public func answerChallenge(key: String, at: Date, answers: [UInt8]?) async throws(DeskpoolError) -> LoginChallenge? {
        let now = StoreCoding.millis(at)
        return try await write { connection in
            // One statement: of two brokers answering at once, the second waits for the first's
            // row lock, then finds the challenge answered and changes nothing.
            try await Self.rows("""
                UPDATE login_challenge SET answered_at = \(now), answers = \(answers.map { ByteBuffer(bytes: $0) })
                WHERE key = \(key) AND answered_at IS NULL AND expires_at > \(now)
                RETURNING \(unescaped: Self.challengeColumns)
                """, on: connection).first.map(Self.challenge)
        }
    }

    public func takeChallengeAnswers(owner: String) async throws(DeskpoolError) -> [LoginChallenge] {
        try await write { connection in
            // The rows are locked as they are read (another taker skips them, and after the
            // commit finds their answers gone); RETURNING gives the new row, so the answers
            // come from the rows as they were taken.
            try await Self.rows("""
                WITH taken AS (
                    SELECT key, answers FROM login_challenge WHERE owner = \(owner) AND answers IS NOT NULL FOR UPDATE SKIP LOCKED
                )
                UPDATE login_challenge c SET answers = NULL FROM taken WHERE c.key = taken.key
                RETURNING c.key, c.owner, c."user", c.address, c.created_at, c.expires_at, c.answered_at, taken.answers, c.outcome
                """, on: connection).map(Self.challenge).sorted { ($0.createdAt, $0.key) < ($1.createdAt, $1.key) }
        }
    }

    public func putChallengeOutcome(key: String, outcome: [UInt8]) async throws(DeskpoolError) {
        try await write { connection in
            try await Self.execute("UPDATE login_challenge SET outcome = \(ByteBuffer(bytes: outcome)) WHERE key = \(key)", on: connection)
        }
    }

    public func challenge(key: String) async throws(DeskpoolError) -> LoginChallenge? {
        try await read { connection in
            try await Self.rows("SELECT \(unescaped: Self.challengeColumns) FROM login_challenge WHERE key = \(key)", on: connection)
                .first.map(Self.challenge)
        }
    }

    public func deleteChallenge(key: String) async throws(DeskpoolError) {
        try await write { connection in try await Self.execute("DELETE FROM login_challenge WHERE key = \(key)", on: connection) }
    }

    @discardableResult
    public func deleteChallenges(expiredBy before: Date) async throws(DeskpoolError) -> Int {
        try await write { connection in
            try await Self.execute("DELETE FROM login_challenge WHERE expires_at <= \(StoreCoding.millis(before)) RETURNING 1", on: connection)
        }
    }

    private static func challenge(_ row: PostgresRandomAccessRow) throws -> LoginChallenge {
        LoginChallenge(key: try row["key"].decode(String.self), owner: try row["owner"].decode(String.self),
                       user: try row["user"].decode(String.self), address: try row["address"].decode(String.self),
                       createdAt: StoreCoding.date(try row["created_at"].decode(Int64.self)),
                       expiresAt: StoreCoding.date(try row["expires_at"].decode(Int64.self)),
                       answeredAt: try row["answered_at"].decode(Int64?.self).map(StoreCoding.date),
                       answers: try row["answers"].decode(ByteBuffer?.self).map { Array($0.readableBytesView) },
                       outcome: try row["outcome"].decode(ByteBuffer?.self).map { Array($0.readableBytesView) })
    }
}
