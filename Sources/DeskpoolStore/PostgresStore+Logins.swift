public import DeskpoolCore
public import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore {
    public func putLogin(_ login: LoginSession, key: String) async throws(DeskpoolError) {
        try await write { connection in
            let record = try StoreCoding.json(login)
            try await Self.execute("""
                INSERT INTO login (key, record, expires_at, last_used)
                VALUES (\(key), \(record), \(StoreCoding.millis(login.expiresAt)), \(StoreCoding.millis(login.lastUsed)))
                """, on: connection)
        }
    }

    public func login(key: String) async throws(DeskpoolError) -> LoginSession? {
        try await read { connection in
            guard let row = try await Self.rows("SELECT record, last_used FROM login WHERE key = \(key)", on: connection).first else { return nil }
            var login = try StoreCoding.decode(LoginSession.self, json: try row["record"].decode(String.self))
            login.lastUsed = StoreCoding.date(try row["last_used"].decode(Int64.self))
            return login
        }
    }

    public func touchLogin(key: String, at: Date) async throws(DeskpoolError) {
        try await write { connection in
            try await Self.execute("UPDATE login SET last_used = GREATEST(last_used, \(StoreCoding.millis(at))) WHERE key = \(key)", on: connection)
        }
    }

    public func replaceLogin(_ login: LoginSession, key: String) async throws(DeskpoolError) -> Bool {
        try await write { connection in
            let record = try StoreCoding.json(login)
            // The last use only moves forward, as with a touch (another broker's may be newer).
            return try await Self.execute("""
                UPDATE login SET record = \(record), expires_at = \(StoreCoding.millis(login.expiresAt)),
                    last_used = GREATEST(last_used, \(StoreCoding.millis(login.lastUsed)))
                WHERE key = \(key) RETURNING 1
                """, on: connection) > 0
        }
    }

    public func deleteLogin(key: String) async throws(DeskpoolError) {
        try await write { connection in try await Self.execute("DELETE FROM login WHERE key = \(key)", on: connection) }
    }

    public func deleteLogins(expiredBy: Date, idleSince: Date) async throws(DeskpoolError) -> Int {
        try await write { connection in
            try await Self.execute("""
                DELETE FROM login WHERE expires_at <= \(StoreCoding.millis(expiredBy)) OR last_used <= \(StoreCoding.millis(idleSince)) RETURNING 1
                """, on: connection)
        }
    }

    public func loginCount(liveAt: Date, idleSince: Date) async throws(DeskpoolError) -> Int {
        try await read { connection in
            try await Self.rows("""
                SELECT COUNT(*) AS n FROM login WHERE expires_at > \(StoreCoding.millis(liveAt)) AND last_used > \(StoreCoding.millis(idleSince))
                """, on: connection)[0]["n"].decode(Int.self)
        }
    }
}

extension PostgresStore {
    public func secret(named name: String, orCreate create: @Sendable () -> [UInt8]) async throws(DeskpoolError) -> [UInt8] {
        let made = ByteBuffer(bytes: create())
        return try await write { connection in
            // The first broker's value wins; the others read it.
            try await Self.execute("INSERT INTO secret (name, value) VALUES (\(name), \(made)) ON CONFLICT (name) DO NOTHING", on: connection)
            let value = try await Self.rows("SELECT value FROM secret WHERE name = \(name)", on: connection)[0]["value"].decode(ByteBuffer.self)
            return Array(value.readableBytesView)
        }
    }
}
