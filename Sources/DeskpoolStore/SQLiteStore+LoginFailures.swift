public import DeskpoolCore
public import Foundation
import GRDB

extension SQLiteStore {
    public func recordLoginFailure(keys: [LoginThrottle.Key], at: Date, window: TimeInterval) async throws(DeskpoolError) -> [LoginFailures] {
        try await write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO loginFailure (user, address, failures, last) VALUES (?, ?, 1, ?)
                ON CONFLICT (user, address) DO UPDATE SET failures = CASE WHEN last <= ? THEN 1 ELSE failures + 1 END, last = excluded.last
                RETURNING failures
                """)
            let (now, stale) = (StoreCoding.millis(at), StoreCoding.millis(at.addingTimeInterval(-window)))
            return try keys.map { key in
                let count = try Int.fetchOne(statement, arguments: [key.user ?? "", key.address, now, stale]) ?? 1
                return LoginFailures(key: key, failures: count, last: StoreCoding.date(now))
            }
        }
    }

    public func loginFailures(keys: [LoginThrottle.Key]) async throws(DeskpoolError) -> [LoginFailures] {
        try await read { db in
            let statement = try db.cachedStatement(sql: "SELECT failures, last FROM loginFailure WHERE user = ? AND address = ?")
            return try keys.compactMap { key in
                try Row.fetchOne(statement, arguments: [key.user ?? "", key.address]).map {
                    LoginFailures(key: key, failures: $0["failures"], last: StoreCoding.date($0["last"]))
                }
            }
        }
    }

    public func loginFailures(since: Date) async throws(DeskpoolError) -> [LoginFailures] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM loginFailure WHERE last > ?", arguments: [StoreCoding.millis(since)]).map { row in
                let user: String = row["user"]
                return LoginFailures(key: LoginThrottle.Key(user: user.isEmpty ? nil : user, address: row["address"]),
                                     failures: row["failures"], last: StoreCoding.date(row["last"]))
            }
        }
    }

    @discardableResult
    public func clearLoginFailures(keys: [LoginThrottle.Key], user: String?, address: String?, before: Date?) async throws(DeskpoolError) -> Int {
        try await write { db in
            var cleared = 0
            for key in keys {
                try db.execute(sql: "DELETE FROM loginFailure WHERE user = ? AND address = ?", arguments: [key.user ?? "", key.address])
                cleared += db.changesCount
            }
            if user != nil || address != nil {
                // As LoginThrottle.unlock: a user alone clears every pair of the user; an
                // address alone, the address and every pair at it.
                switch (user, address) {
                case let (user?, address?):
                    try db.execute(sql: "DELETE FROM loginFailure WHERE user = ? AND address = ?", arguments: [user, address])
                case let (user?, nil):
                    try db.execute(sql: "DELETE FROM loginFailure WHERE user = ?", arguments: [user])
                case let (nil, address?):
                    try db.execute(sql: "DELETE FROM loginFailure WHERE address = ?", arguments: [address])
                case (nil, nil):
                    break
                }
                cleared += db.changesCount
            }
            if let before {
                try db.execute(sql: "DELETE FROM loginFailure WHERE last < ?", arguments: [StoreCoding.millis(before)])
                cleared += db.changesCount
            }
            return cleared
        }
    }
}
