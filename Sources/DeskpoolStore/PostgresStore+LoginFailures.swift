public import DeskpoolCore
public import Foundation
import PostgresNIO

extension PostgresStore {
    public func recordLoginFailure(keys: [LoginThrottle.Key], at: Date, window: TimeInterval) async throws(DeskpoolError) -> [LoginFailures] {
        let (now, stale) = (StoreCoding.millis(at), StoreCoding.millis(at.addingTimeInterval(-window)))
        return try await write { connection in
            var counts: [LoginFailures] = []
            for key in keys {
                let count = try await Self.rows("""
                    INSERT INTO login_failure ("user", address, failures, last) VALUES (\(key.user ?? ""), \(key.address), 1, \(now))
                    ON CONFLICT ("user", address) DO UPDATE
                        SET failures = CASE WHEN login_failure.last <= \(stale) THEN 1 ELSE login_failure.failures + 1 END, last = excluded.last
                    RETURNING failures
                    """, on: connection)[0]["failures"].decode(Int.self)
                counts.append(LoginFailures(key: key, failures: count, last: StoreCoding.date(now)))
            }
            return counts
        }
    }

    public func loginFailures(keys: [LoginThrottle.Key]) async throws(DeskpoolError) -> [LoginFailures] {
        try await read { connection in
            var found: [LoginFailures] = []
            for key in keys {
                if let row = try await Self.rows("""
                    SELECT failures, last FROM login_failure WHERE "user" = \(key.user ?? "") AND address = \(key.address)
                    """, on: connection).first {
                    found.append(LoginFailures(key: key, failures: try row["failures"].decode(Int.self),
                                               last: StoreCoding.date(try row["last"].decode(Int64.self))))
                }
            }
            return found
        }
    }

    public func loginFailures(since: Date) async throws(DeskpoolError) -> [LoginFailures] {
        try await read { connection in
            try await Self.rows("SELECT * FROM login_failure WHERE last > \(StoreCoding.millis(since))", on: connection).map { row in
                let user = try row["user"].decode(String.self)
                return LoginFailures(key: LoginThrottle.Key(user: user.isEmpty ? nil : user, address: try row["address"].decode(String.self)),
                                     failures: try row["failures"].decode(Int.self), last: StoreCoding.date(try row["last"].decode(Int64.self)))
            }
        }
    }

    @discardableResult
    public func clearLoginFailures(keys: [LoginThrottle.Key], user: String?, address: String?, before: Date?) async throws(DeskpoolError) -> Int {
        try await write { connection in
            var cleared = 0
            for key in keys {
                cleared += try await Self.execute("""
                    DELETE FROM login_failure WHERE "user" = \(key.user ?? "") AND address = \(key.address) RETURNING 1
                    """, on: connection)
            }
            switch (user, address) {
            case let (user?, address?):
                cleared += try await Self.execute("DELETE FROM login_failure WHERE \"user\" = \(user) AND address = \(address) RETURNING 1", on: connection)
            case let (user?, nil):
                cleared += try await Self.execute("DELETE FROM login_failure WHERE \"user\" = \(user) RETURNING 1", on: connection)
            case let (nil, address?):
                cleared += try await Self.execute("DELETE FROM login_failure WHERE address = \(address) RETURNING 1", on: connection)
            case (nil, nil):
                break
            }
            if let before {
                cleared += try await Self.execute("DELETE FROM login_failure WHERE last < \(StoreCoding.millis(before)) RETURNING 1", on: connection)
            }
            return cleared
        }
    }
}
