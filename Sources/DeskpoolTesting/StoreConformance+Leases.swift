public import DeskpoolCore
import Foundation

extension StoreConformance {
    /// A lease is held by one replica at a time: renewed at its generation, taken by another
    /// only once it ran out or was released (generation one more), and a write made under a
    /// fence whose generation moved on is refused and changes nothing.
    public static func leases(_ store: any Store) async throws {
        let minute = Duration.seconds(60)
        let first = try await store.takeLease("host/a", holder: "r1", renewing: nil, for: minute)
        try expectEqual(first?.generation, 1, "a new lease's generation")
        try expectEqual(first?.holder, "r1", "a new lease's holder")
        try expectEqual(try await store.takeLease("host/a", holder: "r2", renewing: nil, for: minute), nil, "a running lease, taken by another")
        try expectEqual(try await store.takeLease("host/a", holder: "r1", renewing: 1, for: minute)?.generation, 1, "a renewal keeps the generation")
        try expectEqual(try await store.takeLease("host/a", holder: "r1", renewing: 7, for: minute), nil, "a renewal at another generation")
        let listed = try await store.leases()
        try expectEqual(listed.map(\.name), ["host/a"], "the leases")
        try expect(listed.first?.live == true && listed.first?.holder == "r1", "a running lease, listed live with its holder")

        // Writes under the current fence go through.
        let fence1 = LeaseFence(name: "host/a", generation: 1)
        try await LeaseFence.$current.withValue(fence1) {
            try await store.audit(AuditEntry(at: t0, actor: "broker", action: "fenced.write", subject: "host/a"))
        }
        try expectEqual(try await store.auditLog(subject: "host/a", limit: 10).count, 1, "a write under the current fence")

        // Run out: another replica takes it; the old fence is refused.
        _ = try await store.takeLease("host/a", holder: "r1", renewing: 1, for: .milliseconds(100))
        try await Task.sleep(for: .milliseconds(300))
        try expect(try await store.leases().first?.live == false, "a lease past its time, listed not live")
        let second = try await store.takeLease("host/a", holder: "r2", renewing: nil, for: minute)
        try expectEqual(second?.generation, 2, "a lease taken over: generation one more")
        do {
            try await LeaseFence.$current.withValue(fence1) {
                try await store.audit(AuditEntry(at: t0, actor: "broker", action: "fenced.write", subject: "host/a"))
            }
            throw StoreConformanceFailure("a write under a lost lease's fence went through")
        } catch let error as DeskpoolError {
            try expectEqual(error.code, .leaseLost, "a write under a lost lease's fence")
        }
        try expectEqual(try await store.auditLog(subject: "host/a", limit: 10).count, 1, "a refused fenced write changed nothing")
        try expectEqual(try await store.takeLease("host/a", holder: "r1", renewing: 1, for: minute), nil, "the old holder's renewal after a takeover")

        // Released: taken at once by another, generation one more.
        try await store.releaseLease("host/a", holder: "r1", generation: 2)  // not r1's: nothing
        try expectEqual(try await store.takeLease("host/a", holder: "r3", renewing: nil, for: minute), nil, "a lease released by someone else than its holder")
        try await store.releaseLease("host/a", holder: "r2", generation: 2)
        try expectEqual(try await store.takeLease("host/a", holder: "r3", renewing: nil, for: minute)?.generation, 3, "a released lease, taken at once")

        do {
            try await LeaseFence.$current.withValue(LeaseFence(name: "host/none", generation: 1)) {
                try await store.audit(AuditEntry(at: t0, actor: "broker", action: "fenced.write", subject: "host/none"))
            }
            throw StoreConformanceFailure("a write under the fence of a lease that does not exist went through")
        } catch let error as DeskpoolError {
            try expectEqual(error.code, .leaseLost, "a write under a lease that does not exist")
        }
        // Reads are not fenced.
        try await LeaseFence.$current.withValue(fence1) { _ = try await store.pools() }
    }
}
