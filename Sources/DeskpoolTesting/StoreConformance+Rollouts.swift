public import DeskpoolCore
import Foundation

extension StoreConformance {
    static func sampleRollout(id: String = "r1", state: Rollout.State = .running, at: Date = t0) -> (Rollout, [RolloutItem]) {
        let rollout = Rollout(id: id, policy: "eng-v2", kind: .update, source: "kind: UpdatePolicy\n", state: state,
                              pools: [Rollout.PoolChange(pool: "eng", fromVersion: 1, toVersion: 2)], waves: 2, createdAt: at, createdBy: admin)
        let items = ["eng-002", "eng-001"].enumerated().map { index, name in
            RolloutItem(rollout: id, desktopID: "id-\(name)", desktop: name, pool: "eng", position: index, wave: index, from: "v1", to: "v2")
        }
        return (rollout, items)
    }

    /// A rollout and its items are stored whole, read back in order, listed newest first, and
    /// only unfinished ones are active.
    public static func rollouts(_ store: any Store) async throws {
        let (first, items) = sampleRollout()
        try await store.createRollout(first, items: items, actor: admin)
        try await expectAudit(store, subject: "rollout/r1", action: "rollout.create")
        try expectEqual(try await store.rollout(id: "r1"), first, "the stored rollout")
        try expectEqual(try await store.rolloutItems(rollout: "r1"), items, "the items, in rollout order")
        try await expectError(.alreadyExists, field: "id", "a second rollout with the same id") {
            try await store.createRollout(first, items: [], actor: admin)
        }
        let (done, _) = sampleRollout(id: "r0", state: .completed, at: t0.addingTimeInterval(-60))
        try await store.createRollout(done, items: [], actor: admin)
        let (later, _) = sampleRollout(id: "r2", at: t0.addingTimeInterval(60))
        try await store.createRollout(later, items: [], actor: admin)
        try expectEqual(try await store.rollouts(active: false, limit: 10).map(\.id), ["r2", "r1", "r0"], "rollouts, newest first")
        try expectEqual(try await store.rollouts(active: true, limit: 10).map(\.id), ["r2", "r1"], "active rollouts")
        try expectEqual(try await store.rollouts(active: false, limit: 1).map(\.id), ["r2"], "a limited list")
        try expectEqual(try await store.rollout(id: "nope"), nil, "a missing rollout")
        try expectEqual(try await store.rolloutItems(rollout: "nope"), [], "a missing rollout's items")
    }

    /// Rollout and item updates are compare-and-set on the state, and state changes are audited.
    public static func rolloutCompareAndSet(_ store: any Store) async throws {
        let (rollout, _) = sampleRollout()
        try await store.createRollout(rollout, items: sampleRollout().1, actor: admin)
        let paused = try await store.updateRollout("r1", from: [.running], actor: admin) { $0.state = .paused; $0.reason = "lunch" }
        try expectEqual(paused?.state, .paused, "the paused rollout")
        try expectEqual(try await store.rollout(id: "r1")?.reason, "lunch", "the stored reason")
        try await expectAudit(store, subject: "rollout/r1", action: "rollout.state")
        try expectEqual(try await store.updateRollout("r1", from: [.running], actor: admin) { $0.state = .completed }, nil,
                        "an update from the wrong state")
        try expectEqual(try await store.rollout(id: "r1")?.state, .paused, "the state after a refused update")

        let started = try await store.updateRolloutItem(rollout: "r1", desktop: "id-eng-001", from: [.pending], actor: admin) {
            $0.status = .inProgress
            $0.startedAt = t0
        }
        try expectEqual(started?.status, .inProgress, "the started item")
        try expectEqual(try await store.rolloutItems(rollout: "r1").first { $0.desktop == "eng-001" }?.startedAt, t0, "the stored start")
        try await expectAudit(store, subject: "rollout/r1/eng-001", action: "rollout.desktop")
        try expectEqual(try await store.updateRolloutItem(rollout: "r1", desktop: "id-eng-001", from: [.pending], actor: admin) { $0.status = .done },
                        nil, "an item update from the wrong status")
        try expectEqual(try await store.updateRolloutItem(rollout: "r1", desktop: "nope", from: [.pending], actor: admin) { $0.status = .done },
                        nil, "a missing item")
    }

    /// A rollout that changes pools stores their new specs in its transaction, and is refused
    /// whole when a pool changed since it was read.
    public static func rolloutWithPools(_ store: any Store) async throws {
        var eng = try await store.putPool(PoolSpec(name: "eng", template: "tiny", max: 5), actor: admin)
        eng.max = 9
        eng.generation += 1
        let (rollout, items) = sampleRollout()
        try await store.createRollout(rollout, items: items, pools: [eng], actor: admin)
        try expectEqual(try await store.pool(named: "eng"), eng, "the pool's new spec, at the generation given")
        try expectEqual(try await store.rolloutItems(rollout: "r1").count, 2, "the items")

        var stale = eng
        stale.max = 3  // Read at generation 1, but the pool is at 2 now.
        let (second, _) = sampleRollout(id: "r2")
        try await expectError(.conflict, field: "spec.selector", "a rollout over a pool changed since it was read") {
            try await store.createRollout(second, items: [], pools: [stale], actor: admin)
        }
        try expectEqual(try await store.rollout(id: "r2"), nil, "no rollout from the refused call")
        try expectEqual(try await store.pool(named: "eng")?.max, 9, "the pool after the refused call")
    }

    /// A batch of item updates is one transaction: each desktop change is made with its item,
    /// an item in another status is left alone (its desktop change still made), and the
    /// results come back in order.
    public static func rolloutItemBatch(_ store: any Store) async throws {
        let (rollout, items) = sampleRollout()
        try await store.createRollout(rollout, items: items, actor: admin)
        for item in items { _ = try await store.insertDesktop(desktop(item.desktop, state: .ready), actor: admin, limit: nil) }
        _ = try await store.updateRolloutItem(rollout: "r1", desktop: "id-eng-001", from: [.pending], actor: admin) { $0.status = .skipped }
        let restart = DesktopEvent.redefined(policy: "p", generation: 4, restart: true)
        let written = try await store.updateRolloutItems(rollout: "r1", [
            RolloutItemUpdate(desktopID: "id-eng-002", from: [.pending], desktop: restart) { item, desktop in
                item.status = desktop?.state == .restarting ? .inProgress : .failed
                item.detail = "generation \(desktop?.generation ?? 0)"
            },
            RolloutItemUpdate(desktopID: "id-eng-001", from: [.pending], desktop: restart) { item, _ in item.status = .done },
            RolloutItemUpdate(desktopID: "nope", from: [.pending]) { item, _ in item.status = .done },
        ], actor: admin)
        try expectEqual(written.map { $0?.status }, [.inProgress, nil, nil], "each update's result, in order")
        try expectEqual(written.first??.detail, "generation 4", "the item change saw its desktop's new record")
        let stored = try await store.rolloutItems(rollout: "r1")
        try expectEqual(stored.map(\.status), [.inProgress, .skipped], "the stored items")
        try expectEqual(try await store.desktop(id: "id-eng-002")?.state, .restarting, "the desktop changed with its item")
        try expectEqual(try await store.desktop(id: "id-eng-001")?.generation, 4, "the desktop change of an item in another status")
        try await expectAudit(store, subject: "rollout/r1/eng-002", action: "rollout.desktop")
        try await expectAudit(store, subject: "desktop/eng-002", action: "desktop.state")
        try expectEqual(try await store.updateRolloutItems(rollout: "r1", [], actor: admin).count, 0, "an empty batch")
    }

    /// A desktop's target version is kept and cleared like its other fields.
    public static func desktopTargetVersion(_ store: any Store) async throws {
        _ = try await store.insertDesktop(desktop("eng-001", state: .assigned), actor: admin, limit: nil)
        let marked = try await store.transition("id-eng-001", .targeted(version: 2), actor: admin)
        try expectEqual(marked?.targetVersion, 2, "the marked desktop")
        try expectEqual(try await store.desktop(id: "id-eng-001")?.targetVersion, 2, "the stored target version")
        _ = try await store.transition("id-eng-001", .untargeted(version: nil), actor: admin)
        try expectEqual(try await store.desktop(id: "id-eng-001")?.targetVersion, nil, "the cleared target version")
    }
}
