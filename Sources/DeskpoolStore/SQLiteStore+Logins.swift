public import DeskpoolCore
public import Foundation
import GRDB

extension SQLiteStore {
    public func putLogin(_ login: LoginSession, key: String) async throws(DeskpoolError) {
        try await write { db in
            try db.execute(sql: "INSERT INTO login (key, record, expiresAt, lastUsed) VALUES (?, ?, ?, ?)",
                           arguments: [key, try StoreCoding.json(login), StoreCoding.millis(login.expiresAt), StoreCoding.millis(login.lastUsed)])
        }
    }

    public func login(key: String) async throws(DeskpoolError) -> LoginSession? {
        try await read { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT record, lastUsed FROM login WHERE key = ?"), arguments: [key]) else {
                return nil
            }
            var login = try StoreCoding.decode(LoginSession.self, json: row["record"])
            login.lastUsed = StoreCoding.date(row["lastUsed"])
            return login
        }
    }

    public func touchLogin(key: String, at: Date) async throws(DeskpoolError) {
        try await write { db in
            try db.cachedStatement(sql: "UPDATE login SET lastUsed = MAX(lastUsed, ?) WHERE key = ?").execute(arguments: [StoreCoding.millis(at), key])
        }
    }

    public func replaceLogin(_ login: LoginSession, key: String) async throws(DeskpoolError) -> Bool {
        try await write { db in
            // The last use only moves forward, as with a touch (another broker's may be newer).
            try db.execute(sql: "UPDATE login SET record = ?, expiresAt = ?, lastUsed = MAX(lastUsed, ?) WHERE key = ?",
                           arguments: [try StoreCoding.json(login), StoreCoding.millis(login.expiresAt), StoreCoding.millis(login.lastUsed), key])
            return db.changesCount > 0
        }
    }

    public func deleteLogin(key: String) async throws(DeskpoolError) {
        try await write { db in try db.execute(sql: "DELETE FROM login WHERE key = ?", arguments: [key]) }
    }

    public func deleteLogins(expiredBy: Date, idleSince: Date) async throws(DeskpoolError) -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM login WHERE expiresAt <= ? OR lastUsed <= ?", arguments: [StoreCoding.millis(expiredBy), StoreCoding.millis(idleSince)])
            return db.changesCount
        }
    }

    public func loginCount(liveAt: Date, idleSince: Date) async throws(DeskpoolError) -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM login WHERE expiresAt > ? AND lastUsed > ?",
                             arguments: [StoreCoding.millis(liveAt), StoreCoding.millis(idleSince)]) ?? 0
        }
    }
}

extension SQLiteStore {
    public func secret(named name: String, orCreate create: @Sendable () -> [UInt8]) async throws(DeskpoolError) -> [UInt8] {
        try await write { db in
            if let value = try Data.fetchOne(db, sql: "SELECT value FROM secret WHERE name = ?", arguments: [name]) { return Array(value) }
            let value = create()
            try db.execute(sql: "INSERT INTO secret (name, value) VALUES (?, ?)", arguments: [name, Data(value)])
            return value
        }
    }
}
