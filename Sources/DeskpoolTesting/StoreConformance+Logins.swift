public import DeskpoolCore
import Foundation

extension StoreConformance {
    /// Logins are kept by key, read back whole, touched forward only, counted while live, and
    /// forgotten when ended, expired or idle.
    public static func logins(_ store: any Store) async throws {
        func login(_ user: String, at: Date, maxAge: TimeInterval = 3600) -> LoginSession {
            LoginSession(principal: .init(user: user, groups: ["staff", "deskpool-admins"]), admin: true, csrf: "csrf-\(user)",
                         createdAt: at, expiresAt: at.addingTimeInterval(maxAge), lastUsed: at, handle: "0123abcd")
        }
        let alice = login("alice", at: t0)
        try await store.putLogin(alice, key: "k-alice")
        try expectEqual(try await store.login(key: "k-alice"), alice, "a login, read back")
        try expectEqual(try await store.login(key: "k-nobody"), nil, "an unknown key")

        try await store.touchLogin(key: "k-alice", at: t0.addingTimeInterval(120))
        try expectEqual(try await store.login(key: "k-alice")?.lastUsed, t0.addingTimeInterval(120), "the last use after a touch")
        try await store.touchLogin(key: "k-alice", at: t0.addingTimeInterval(60))
        try expectEqual(try await store.login(key: "k-alice")?.lastUsed, t0.addingTimeInterval(120), "a late, older touch (another broker's) changes nothing")
        try await store.touchLogin(key: "k-nobody", at: t0)

        try await store.putLogin(login("bob", at: t0, maxAge: 600), key: "k-bob")
        try await store.putLogin(login("carol", at: t0.addingTimeInterval(-3000)), key: "k-carol")
        let at = t0.addingTimeInterval(700)
        try expectEqual(try await store.loginCount(liveAt: at, idleSince: at.addingTimeInterval(-900)), 1,
                        "live at +700 s with 900 s idle: alice only (bob past his age, carol idle)")
        try expectEqual(try await store.deleteLogins(expiredBy: at, idleSince: at.addingTimeInterval(-900)), 2, "bob and carol forgotten")
        try expectEqual(try await store.login(key: "k-bob"), nil, "an expired login, forgotten")
        try expect(try await store.login(key: "k-alice") != nil, "a live login kept")

        try await store.deleteLogin(key: "k-alice")
        try expectEqual(try await store.login(key: "k-alice"), nil, "an ended login")
        try await store.deleteLogin(key: "k-alice")
        try expectEqual(try await store.loginCount(liveAt: t0, idleSince: t0.addingTimeInterval(-900)), 0, "no login left")
    }
}

extension StoreConformance {
    /// A secret is made once: later asks (another broker's) get the first value, not their own.
    public static func secrets(_ store: any Store) async throws {
        let first = try await store.secret(named: "console-token") { Array(repeating: 7, count: 32) }
        try expectEqual(first, Array(repeating: 7, count: 32), "the secret as made")
        let again = try await store.secret(named: "console-token") { Array(repeating: 9, count: 32) }
        try expectEqual(again, first, "the secret a second broker gets")
        let other = try await store.secret(named: "other") { [1, 2, 3] }
        try expectEqual(other, [1, 2, 3], "another secret")
    }
}
