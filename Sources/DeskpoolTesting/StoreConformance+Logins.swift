public import DeskpoolCore
import Foundation

extension StoreConformance {
    /// Logins are kept by key, read back whole, touched forward only, replaced while they last,
    /// counted while live, and forgotten when ended, expired or idle.
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

        // A further factor passed: the record changes, its last use moves forward only.
        var stepped = try require(try await store.login(key: "k-alice"), "alice's login")
        stepped.principal.groups.append("deskpool-mfa")
        stepped.admin = false
        try expect(try await store.replaceLogin(stepped, key: "k-alice"), "a live login, replaced")
        try expectEqual(try await store.login(key: "k-alice"), stepped, "a replaced login, read back")
        var stale = stepped
        stale.lastUsed = t0
        try expect(try await store.replaceLogin(stale, key: "k-alice"), "a login replaced with an older last use")
        try expectEqual(try await store.login(key: "k-alice")?.lastUsed, t0.addingTimeInterval(120), "a replacement's older last use changes nothing")
        try expect(try await store.replaceLogin(stepped, key: "k-nobody") == false, "an unknown key, replaced")
        try expectEqual(try await store.login(key: "k-nobody"), nil, "a replacement of an unknown key adds nothing")

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

extension StoreConformance {
    /// Failed logins count per key for every broker: in a row, starting again after the window,
    /// read back by key or since a time (an address's own key keeps its nil user), and cleared by
    /// key, as an admin's unlock does, or when old.
    public static func loginFailures(_ store: any Store) async throws {
        let keys = LoginThrottle.keys(user: "alice", address: "10.0.0.1")
        let first = try await store.recordLoginFailure(keys: keys, at: t0, window: 900)
        try expectEqual(first.map(\.failures), [1, 1], "the first failure, for the address and the pair")
        let second = try await store.recordLoginFailure(keys: keys, at: t0.addingTimeInterval(10), window: 900)
        try expectEqual(second.map(\.failures), [2, 2], "a second failure (another broker's counts too)")
        try expectEqual(try await store.loginFailures(keys: keys),
                        keys.map { LoginFailures(key: $0, failures: 2, last: t0.addingTimeInterval(10)) }, "the counts, read back")
        let later = try await store.recordLoginFailure(keys: [keys[1]], at: t0.addingTimeInterval(1000), window: 900)
        try expectEqual(later.map(\.failures), [1], "a failure after the window starts again")

        _ = try await store.recordLoginFailure(keys: LoginThrottle.keys(user: "bob", address: "10.0.0.1"), at: t0.addingTimeInterval(20), window: 900)
        _ = try await store.recordLoginFailure(keys: LoginThrottle.keys(user: "bob", address: "10.0.0.2"), at: t0.addingTimeInterval(30), window: 900)
        let recent = try await store.loginFailures(since: t0.addingTimeInterval(15)).sorted { $0.key < $1.key }
        try expectEqual(recent.map(\.key), [LoginThrottle.Key(user: nil, address: "10.0.0.1"), LoginThrottle.Key(user: "alice", address: "10.0.0.1"),
                                            LoginThrottle.Key(user: "bob", address: "10.0.0.1"), LoginThrottle.Key(user: nil, address: "10.0.0.2"),
                                            LoginThrottle.Key(user: "bob", address: "10.0.0.2")], "the counts with a failure since +15 s")

        try expectEqual(try await store.clearLoginFailures(keys: [], user: "bob", address: nil, before: nil), 2, "an unlock of a user: each of its pairs")
        try expectEqual(try await store.clearLoginFailures(keys: [], user: nil, address: "10.0.0.2", before: nil), 1, "an unlock of an address")
        try expectEqual(try await store.clearLoginFailures(keys: [keys[1]], user: nil, address: nil, before: nil), 1, "a success's key")
        try expectEqual(try await store.clearLoginFailures(keys: [], user: nil, address: nil, before: t0.addingTimeInterval(25)), 1,
                        "counts older than +25 s")
        try expectEqual(try await store.loginFailures(since: .distantPast), [], "nothing left")
    }
}
