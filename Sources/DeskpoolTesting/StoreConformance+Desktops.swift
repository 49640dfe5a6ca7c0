public import DeskpoolCore

extension StoreConformance {
    /// With a limit, a desktop is inserted only while the pool holds fewer (deleting ones
    /// aside); desktops are listed by name.
    public static func insertDesktopWithLimit(_ store: any Store) async throws {
        try expect(try await store.insertDesktop(desktop("eng-002"), actor: admin, limit: 2), "first insert under the limit")
        try expect(try await store.insertDesktop(desktop("eng-001"), actor: admin, limit: 2), "second insert under the limit")
        try expect(try await store.insertDesktop(desktop("art-001", pool: "art"), actor: admin, limit: 1), "another pool's own limit")
        try await expectAudit(store, subject: "desktop/eng-001", action: "desktop.create", detail: "state: provisioning host: host1")
        try expect(!(try await store.insertDesktop(desktop("eng-003"), actor: admin, limit: 2)), "an insert at the limit")
        try expectEqual(try await store.desktop(id: "id-eng-003"), nil, "the desktop refused by the limit")

        _ = try await store.transition("id-eng-002", .adminDeleted(by: "root"), actor: "broker")
        try expect(try await store.insertDesktop(desktop("eng-003"), actor: admin, limit: 2), "an insert once one is deleting")
        try expectEqual(try await store.desktops(pool: "eng").map(\.name), ["eng-001", "eng-002", "eng-003"], "desktops, by name")
        try expectEqual(try await store.desktops(pool: nil).count, 4, "desktops of all pools")
        try expectEqual(try await store.desktop(id: "id-eng-001"), desktop("eng-001"), "a desktop read back")
    }

    /// A user's desktops, of one pool or of all, by name; others' and free ones are left out.
    public static func desktopsOfAUser(_ store: any Store) async throws {
        for d in [desktop("eng-002", state: .assigned, user: "carol"), desktop("eng-001", state: .ready),
                  desktop("eng-003", state: .connected, user: "dave"), desktop("art-001", pool: "art", state: .off, user: "carol")] {
            _ = try await store.insertDesktop(d, actor: admin, limit: nil)
        }
        try expectEqual(try await store.desktops(pool: "eng", user: "carol").map(\.name), ["eng-002"], "carol's desktops of eng")
        try expectEqual(try await store.desktops(pool: nil, user: "carol").map(\.name), ["art-001", "eng-002"], "carol's desktops of all pools")
        try expectEqual(try await store.desktops(pool: "eng", user: "erin").map(\.name), [], "a user without desktops")
        try expectEqual(try await store.desktops(pool: "eng", user: nil).map(\.name), ["eng-001", "eng-002", "eng-003"], "every desktop of eng")
        // Both in one read, for a request.
        try expect(try await store.pool(named: "eng", withDesktopsOf: "carol") == nil, "no pool eng in the store yet")
        _ = try await store.putPool(PoolSpec(name: "eng", template: "tiny", max: 5, naming: NamePattern("eng-{n:03}")), actor: admin)
        let both = try require(try await store.pool(named: "eng", withDesktopsOf: "carol"), "pool eng with carol's desktops")
        try expectEqual(both.pool.name, "eng", "the pool read with the desktops")
        try expectEqual(both.desktops.map(\.name), ["eng-002"], "carol's desktops read with the pool")
    }

    /// A taken name is refused, whatever the limit.
    public static func duplicateDesktopName(_ store: any Store) async throws {
        try expect(try await store.insertDesktop(desktop("eng-001"), actor: admin, limit: nil), "the first insert")
        var twin = desktop("eng-001")
        twin.id = "another-id"
        try await expectError(.alreadyExists, field: "name", "a second desktop with the same name") {
            try await store.insertDesktop(twin, actor: admin, limit: 10)
        }
        try expectEqual(try await store.desktops(pool: nil).count, 1, "desktops after the refused insert")
    }

    /// A transition applies an event the lifecycle allows, only from the expected states, keeps
    /// the id, stamps updatedAt and audits a state change.
    public static func transitionCompareAndSet(_ store: any Store) async throws {
        let original = desktop("eng-001", state: .starting)
        _ = try await store.insertDesktop(original, actor: admin, limit: nil)
        let refused = try await store.transition(original.id, .failed(reason: "boom"), expecting: [.ready, .provisioning], actor: "broker")
        try expectEqual(refused, nil, "a transition from a state other than the expected ones")
        try expectEqual(try await store.transition(original.id, .provisioned, actor: "broker"), nil, "an event the lifecycle refuses in this state")
        try expectEqual(try await store.desktop(id: original.id), original, "the desktop after refused transitions")
        try expectEqual(try await store.transition("missing", .failed(reason: "boom"), actor: "broker"), nil,
                        "a transition of a missing desktop")

        let failed = try require(try await store.transition(original.id, .failed(reason: "boom"), expecting: [.starting], actor: "broker"),
                                 "a transition from the right state")
        try expectEqual(failed.id, original.id, "the id after the change")
        try expectEqual(failed.state, .failed, "the new state")
        try expect(failed.updatedAt > original.updatedAt, "updatedAt is stamped")
        try expectEqual(try await store.desktop(id: original.id), failed, "the returned record against a fresh read")
        try await expectAudit(store, subject: "desktop/eng-001", action: "desktop.state", actor: "broker", detail: "starting -> failed reason: boom")

        let before = try await store.auditLog(subject: "desktop/eng-001", limit: 100).count
        _ = try await store.transition(original.id, .regenerated(7), actor: "broker")
        try expectEqual(try await store.desktop(id: original.id)?.generation, 7, "a change without a state change")
        try expectEqual(try await store.auditLog(subject: "desktop/eng-001", limit: 100).count, before, "audit entries without a state change")
    }

    /// A deleted desktop is gone; deleting a missing one is `notFound`.
    public static func deleteDesktop(_ store: any Store) async throws {
        _ = try await store.insertDesktop(desktop("eng-001"), actor: admin, limit: nil)
        try await store.deleteDesktop(id: "id-eng-001", actor: "broker")
        try expectEqual(try await store.desktop(id: "id-eng-001"), nil, "a deleted desktop")
        try await expectAudit(store, subject: "desktop/eng-001", action: "desktop.delete", actor: "broker")
        try await expectError(.notFound, "deleting a missing desktop") { try await store.deleteDesktop(id: "id-eng-001", actor: "broker") }
    }
}
