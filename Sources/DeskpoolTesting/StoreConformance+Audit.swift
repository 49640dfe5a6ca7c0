public import DeskpoolCore
import Foundation

extension StoreConformance {
    /// Entries come back whole, newest first, filtered by subject and cut at the limit.
    public static func auditLog(_ store: any Store) async throws {
        for n in 1...3 {
            try await store.audit(AuditEntry(at: t0.addingTimeInterval(Double(n)), actor: "admin:bob", action: "host.drain",
                                             subject: "host/h\(n % 2)", result: n == 3 ? "error: busy" : "ok", detail: "try \(n)"))
        }
        let all = try await store.auditLog(subject: nil, limit: 10)
        try expectEqual(all.map(\.detail), ["try 3", "try 2", "try 1"], "entries, newest first")
        let newest = try require(all.first, "the newest entry")
        try expect(newest.id != nil, "a stored entry has an id")
        try expectEqual(newest, AuditEntry(id: newest.id, at: t0.addingTimeInterval(3), actor: "admin:bob", action: "host.drain",
                                           subject: "host/h1", result: "error: busy", detail: "try 3"), "an entry read back")
        try expectEqual(try await store.auditLog(subject: "host/h1", limit: 10).map(\.detail), ["try 3", "try 1"], "entries of one subject")
        try expectEqual(try await store.auditLog(subject: nil, limit: 2).count, 2, "entries up to the limit")

        // The store's own entries interleave with appended ones in order.
        try await store.putTemplate(template("tiny"), actor: admin)
        try expectEqual(try await store.auditLog(subject: nil, limit: 1).first?.action, "template.put", "the newest entry after a put")
    }

    /// Filters by actor and action combine, and `before` pages through older entries.
    public static func auditQuery(_ store: any Store) async throws {
        for n in 1...5 {
            try await store.audit(AuditEntry(at: t0.addingTimeInterval(Double(n)), actor: n % 2 == 0 ? "bob" : "carol",
                                             action: n <= 3 ? "desktop.state" : "pool.put", subject: "desktop/d\(n)", detail: "\(n)"))
        }
        try expectEqual(try await store.auditLog(AuditQuery(actor: "carol")).map(\.detail), ["5", "3", "1"], "entries of one actor")
        try expectEqual(try await store.auditLog(AuditQuery(actor: "carol", action: "desktop.state")).map(\.detail), ["3", "1"],
                        "entries of one actor and action")
        let first = try await store.auditLog(AuditQuery(limit: 2))
        try expectEqual(first.map(\.detail), ["5", "4"], "the first page")
        let second = try await store.auditLog(AuditQuery(before: first.last?.id, limit: 2))
        try expectEqual(second.map(\.detail), ["3", "2"], "the next page")
    }

    /// What was written is there after the store is closed and opened again. `open` returns a
    /// store on the same data each time (a file, a database).
    public static func survivesReopening(_ open: () async throws -> any Store) async throws {
        do {
            let store = try await open()
            try await store.putTemplate(template("tiny"), actor: admin)
            _ = try await store.beginVersion(template: "tiny", note: "one", actor: admin)
            try await store.deleteVersion(template: "tiny", number: 1, actor: admin)
            try await store.putPool(PoolSpec(name: "eng", template: "tiny"), actor: admin)
            _ = try await store.insertDesktop(desktop("eng-001", state: .ready), actor: admin, limit: nil)
        }
        let store = try await open()
        try expectEqual(try await store.template(named: "tiny"), template("tiny"), "a template after reopening")
        try expectEqual(try await store.pool(named: "eng")?.generation, 1, "a pool after reopening")
        try expectEqual(try await store.desktop(id: "id-eng-001"), desktop("eng-001", state: .ready), "a desktop after reopening")
        try expectEqual(try await store.beginVersion(template: "tiny", note: "two", actor: admin).number, 2,
                        "the version counter after reopening")
        try expectEqual(try await store.auditLog(subject: "pool/eng", limit: 1).first?.action, "pool.put", "the audit log after reopening")
    }

    /// The write probe of `/readyz` commits every time and leaves no trace in the audit log
    /// (a load balancer calls it every few seconds, for good).
    public static func probeWrite(_ store: any Store) async throws {
        let before = try await store.auditLog(subject: nil, limit: 10)
        for n in 1...3 { try await store.probeWrite(at: t0.addingTimeInterval(Double(n))) }
        try expectEqual(try await store.auditLog(subject: nil, limit: 10), before, "the audit log after write probes")
        try await store.putTemplate(template("tiny"), actor: admin)
        try expectEqual(try await store.template(named: "tiny")?.name, "tiny", "writes after probes")
    }
}
