public import DeskpoolCore
public import Foundation
import GRDB

extension SQLiteStore {
    public func putChallenge(_ challenge: LoginChallenge) async throws(DeskpoolError) {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO loginChallenge (key, owner, user, address, createdAt, expiresAt, answeredAt, answers, outcome)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [challenge.key, challenge.owner, challenge.user, challenge.address, StoreCoding.millis(challenge.createdAt),
                                 StoreCoding.millis(challenge.expiresAt), challenge.answeredAt.map(StoreCoding.millis),
                                 challenge.answers.map { Data($0) }, challenge.outcome.map { Data($0) }])
        }
    }

    public func answerChallenge(key: String, at: Date, answers: [UInt8]?) async throws(DeskpoolError) -> LoginChallenge? {
        try await write { db in
            // One statement: of two brokers answering at once, the second finds it answered.
            let now = StoreCoding.millis(at)
            return try Row.fetchOne(db, sql: """
                UPDATE loginChallenge SET answeredAt = ?, answers = ? WHERE key = ? AND answeredAt IS NULL AND expiresAt > ? RETURNING *
                """, arguments: [now, answers.map { Data($0) }, key, now]).map(Self.challenge)
        }
    }

    public func takeChallengeAnswers(owner: String) async throws(DeskpoolError) -> [LoginChallenge] {
        try await write { db in
            // Read and cleared in one write transaction: no other taker sees them in between.
            let taken = try Row.fetchAll(db, sql: "SELECT * FROM loginChallenge WHERE owner = ? AND answers IS NOT NULL ORDER BY createdAt, key",
                                         arguments: [owner]).map(Self.challenge)
            try db.execute(sql: "UPDATE loginChallenge SET answers = NULL WHERE owner = ? AND answers IS NOT NULL", arguments: [owner])
            return taken
        }
    }

    public func putChallengeOutcome(key: String, outcome: [UInt8]) async throws(DeskpoolError) {
        try await write { db in
            try db.execute(sql: "UPDATE loginChallenge SET outcome = ? WHERE key = ?", arguments: [Data(outcome), key])
        }
    }

    public func challenge(key: String) async throws(DeskpoolError) -> LoginChallenge? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM loginChallenge WHERE key = ?"), arguments: [key]).map(Self.challenge)
        }
    }

    public func deleteChallenge(key: String) async throws(DeskpoolError) {
        try await write { db in try db.execute(sql: "DELETE FROM loginChallenge WHERE key = ?", arguments: [key]) }
    }

    @discardableResult
    public func deleteChallenges(expiredBy before: Date) async throws(DeskpoolError) -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM loginChallenge WHERE expiresAt <= ?", arguments: [StoreCoding.millis(before)])
            return db.changesCount
        }
    }

    private static func challenge(_ row: Row) -> LoginChallenge {
        let answeredAt: Int64? = row["answeredAt"], answers: Data? = row["answers"], outcome: Data? = row["outcome"]
        return LoginChallenge(key: row["key"], owner: row["owner"], user: row["user"], address: row["address"],
                              createdAt: StoreCoding.date(row["createdAt"]), expiresAt: StoreCoding.date(row["expiresAt"]),
                              answeredAt: answeredAt.map(StoreCoding.date), answers: answers.map(Array.init), outcome: outcome.map(Array.init))
    }
}
