public import DeskpoolCore

extension StoreConformance {
    /// A new pool is generation 1; the generation goes up only when the spec changes.
    public static func poolGeneration(_ store: any Store) async throws {
        var spec = PoolSpec(name: "eng", template: "tiny", max: 5, users: ["bob"])
        let created = try await store.putPool(spec, actor: admin)
        try expectEqual(created.generation, 1, "a new pool's generation")
        try await expectAudit(store, subject: "pool/eng", action: "pool.put")

        spec.generation = 7  // The caller's generation is ignored: the store keeps count.
        try expectEqual(try await store.putPool(spec, actor: admin).generation, 1, "generation after putting the same spec")

        spec.max = 8
        let changed = try await store.putPool(spec, actor: admin)
        try expectEqual(changed.generation, 2, "generation after a change")
        try expectEqual(changed.max, 8, "the changed field")
        try expectEqual(try await store.putPool(spec, actor: admin).generation, 2, "generation after re-putting the change")
        try expectEqual(try await store.pool(named: "eng"), changed, "the stored pool")

        try await store.putPool(PoolSpec(name: "art", template: "tiny", version: .pinned(3)), actor: admin)
        let pools = try await store.pools()
        try expectEqual(pools.map(\.name), ["art", "eng"], "pools, by name")
        try expectEqual(pools.first?.version, .pinned(3), "a pinned version")
        try expectEqual(try await store.pool(named: "nope"), nil, "a missing pool")
    }

    /// An invalid spec is refused with the field named, and nothing is written.
    public static func poolRejectsInvalidSpec(_ store: any Store) async throws {
        let before = try await store.auditLog(subject: nil, limit: 100).count
        try await expectError(.invalidInput, field: "min", "a pool with min > max") {
            try await store.putPool(PoolSpec(name: "eng", template: "tiny", min: 5, max: 2, spare: 0), actor: admin)
        }
        try expectEqual(try await store.pool(named: "eng"), nil, "the pool after a refused put")
        try expectEqual(try await store.auditLog(subject: nil, limit: 100).count, before, "audit entries after a refused put")
    }

    /// A draining pool refuses changes and is deleted only once it has no desktops.
    public static func poolDrain(_ store: any Store) async throws {
        try await store.putPool(PoolSpec(name: "eng", template: "tiny"), actor: admin)
        _ = try await store.insertDesktop(desktop("eng-001", state: .ready), actor: admin, limit: nil)
        try expect(try await !store.deleteDrainedPool(named: "eng", actor: admin), "a pool that is not draining is not deleted")
        let drained = try await store.drainPool(named: "eng", actor: admin)
        try expect(drained.draining, "the pool is draining")
        try expect(try await store.pool(named: "eng")?.draining == true, "the stored pool is draining")
        try await expectError(.conflict, field: "name", "a change to a draining pool") {
            try await store.putPool(PoolSpec(name: "eng", template: "tiny", max: 3), actor: admin)
        }
        try expect(try await !store.deleteDrainedPool(named: "eng", actor: admin), "a pool with desktops left is kept")
        try await store.deleteDesktop(id: "id-eng-001", actor: admin)
        try expect(try await store.deleteDrainedPool(named: "eng", actor: admin), "an empty draining pool is deleted")
        try expectEqual(try await store.pool(named: "eng"), nil, "the deleted pool")
        try await expectError(.notFound, field: "pool", "draining a missing pool") { try await store.drainPool(named: "eng", actor: admin) }
    }
}
