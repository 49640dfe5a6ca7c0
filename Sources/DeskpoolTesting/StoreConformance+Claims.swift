public import DeskpoolCore

extension StoreConformance {
    /// The oldest ready, unassigned desktop of the pool is claimed; none left gives nil.
    public static func claimReadyOldestFirst(_ store: any Store) async throws {
        for d in [desktop("eng-001", state: .ready, age: 30), desktop("eng-002", state: .ready, age: 10),
                  desktop("eng-003", state: .ready, user: "carol", age: 0), desktop("eng-004", state: .starting, age: 0),
                  desktop("art-001", pool: "art", state: .ready, age: 0)] {
            _ = try await store.insertDesktop(d, actor: admin, limit: nil)
        }
        let first = try require(try await store.claimReady(pool: "eng", user: "bob", actor: "bob"), "the first claim")
        try expectEqual(first.name, "eng-002", "the oldest ready desktop")
        try expectEqual(first.state, .assigned, "a claimed desktop's state")
        try expectEqual(first.user, "bob", "a claimed desktop's user")
        try expectEqual(try await store.desktop(id: first.id), first, "the claimed record against a fresh read")
        try await expectAudit(store, subject: "desktop/eng-002", action: "desktop.state", actor: "bob", detail: "ready -> assigned user: bob")

        let second = try await store.claimReady(pool: "eng", user: "dave", actor: "dave")
        try expectEqual(second?.name, "eng-001", "the next ready desktop")
        try expectEqual(try await store.claimReady(pool: "eng", user: "erin", actor: "erin"), nil, "a claim with none ready")
        try expectEqual(try await store.claimReady(pool: "none", user: "erin", actor: "erin"), nil, "a claim on an empty pool")
    }

    /// A claim limited to some hosts takes only a desktop on one of them.
    public static func claimReadyOnHosts(_ store: any Store) async throws {
        var away = desktop("eng-001", state: .ready, age: 0)
        away.host = "away"
        _ = try await store.insertDesktop(away, actor: admin, limit: nil)
        _ = try await store.insertDesktop(desktop("eng-002", state: .ready, age: 10), actor: admin, limit: nil)
        try expectEqual(try await store.claimReady(pool: "eng", user: "bob", actor: "bob", onHosts: ["host1"])?.name, "eng-002",
                        "the desktop on a host in the set, though another is older")
        try expectEqual(try await store.claimReady(pool: "eng", user: "dave", actor: "dave", onHosts: ["host1"]), nil,
                        "no claim of a desktop on a host outside the set")
        try expectEqual(try await store.claimReady(pool: "eng", user: "dave", actor: "dave", onHosts: []), nil, "no claim with no host")
        try expectEqual(try await store.desktop(named: "eng-001")?.state, .ready, "the desktop on the other host stays ready")
        try expectEqual(try await store.claimReady(pool: "eng", user: "dave", actor: "dave", onHosts: nil)?.name, "eng-001", "any host")
    }

    /// 50 concurrent claims on 20 ready desktops: 20 win, each a different desktop; 30 get nil.
    public static func claimReadyConcurrent(_ store: any Store) async throws {
        try await claimConcurrently(stores: [store])
    }

    /// The concurrent claim check, spread over several stores open on the same data (for
    /// stores that two processes share).
    public static func claimConcurrently(stores: [any Store], ready: Int = 20, claims: Int = 50) async throws {
        let first = try require(stores.first, "a store")
        for n in 1...ready {
            _ = try await first.insertDesktop(desktop("eng-\(n)", state: .ready, age: Double(n)), actor: admin, limit: nil)
        }
        let won = try await withThrowingTaskGroup(of: (user: String, desktop: Desktop?).self) { group in
            for n in 0..<claims {
                let store = stores[n % stores.count], user = "user\(n)"
                group.addTask { (user, try await store.claimReady(pool: "eng", user: user, actor: user)) }
            }
            var won: [(user: String, desktop: Desktop)] = []
            for try await (user, desktop) in group {
                if let desktop { won.append((user, desktop)) }
            }
            return won
        }
        try expectEqual(won.count, ready, "successful claims")
        try expectEqual(Set(won.map(\.desktop.id)).count, ready, "distinct desktops claimed")
        for (user, desktop) in won {
            try expectEqual(try await first.desktop(id: desktop.id)?.user, user, "the user of \(desktop.name)")
        }
    }
}
