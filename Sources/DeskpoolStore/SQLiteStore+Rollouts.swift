public import DeskpoolCore
import Foundation
import GRDB

extension SQLiteStore {
    public func createRollout(_ rollout: Rollout, items: [RolloutItem], pools: [PoolSpec], actor: String) async throws(DeskpoolError) {
        for pool in pools { try pool.validate() }
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM rollout WHERE id = ?", arguments: [rollout.id]) != nil {
                throw DeskpoolError(.alreadyExists, "a rollout with id '\(rollout.id)' already exists", field: "id")
            }
            try db.execute(sql: "INSERT INTO rollout (id, policy, state, record, createdAt) VALUES (?, ?, ?, ?, ?)",
                           arguments: [rollout.id, rollout.policy, rollout.state.rawValue, try StoreCoding.json(rollout), StoreCoding.millis(rollout.createdAt)])
            for item in items {
                try db.execute(sql: "INSERT INTO rolloutItem (rollout, desktop, position, record) VALUES (?, ?, ?, ?)",
                               arguments: [rollout.id, item.desktopID, item.position, try StoreCoding.json(item)])
            }
            try Self.appendAudit(db, actor: actor, action: "rollout.create", subject: "rollout/\(rollout.id)",
                                 detail: "\(rollout.kind.rawValue) \(rollout.policy): \(items.count) desktop(s) in \(rollout.waves) wave(s)")
            for spec in pools {
                let read = try Self.pool(db, named: spec.name)?.generation
                guard read == spec.generation - 1, try Self.putPool(db, spec, actor: actor).generation == spec.generation else {
                    throw DeskpoolError(.conflict, "pool \(spec.name) changed meanwhile (generation \(read.map(String.init) ?? "none"), "
                                        + "expected \(spec.generation - 1)): plan again", field: "spec.selector")
                }
            }
        }
    }

    public func rollout(id: String) async throws(DeskpoolError) -> Rollout? {
        try await read { db in try Self.rollout(db, id: id) }
    }

    public func rollouts(in states: Set<Rollout.State>?, limit: Int) async throws(DeskpoolError) -> [Rollout] {
        try await read { db in
            let names = states.map { $0.map(\.rawValue).sorted() } ?? []
            let filter = states == nil ? "" : "WHERE state IN (\(names.map { _ in "?" }.joined(separator: ", ")))"
            let rows = try String.fetchAll(
                db, sql: "SELECT record FROM rollout \(filter) ORDER BY createdAt DESC, id LIMIT ?",
                arguments: StatementArguments(names) + [max(0, limit)])
            return try rows.map { try StoreCoding.decode(Rollout.self, json: $0) }
        }
    }

    public func rolloutItems(rollout id: String) async throws(DeskpoolError) -> [RolloutItem] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT record FROM rolloutItem WHERE rollout = ? ORDER BY position", arguments: [id])
                .map { try StoreCoding.decode(RolloutItem.self, json: $0) }
        }
    }

    public func updateRollout(
        _ id: String, from: Set<Rollout.State>, actor: String, change: @escaping @Sendable (inout Rollout) -> Void
    ) async throws(DeskpoolError) -> Rollout? {
        try await write { db in
            guard let old = try Self.rollout(db, id: id), from.contains(old.state) else { return nil }
            var new = old
            change(&new)
            new.id = old.id
            new.updatedAt = StoreCoding.stored(Date())
            try db.execute(sql: "UPDATE rollout SET state = ?, record = ? WHERE id = ?", arguments: [new.state.rawValue, try StoreCoding.json(new), id])
            if new.state != old.state {
                var detail = "\(old.state.rawValue) -> \(new.state.rawValue)"
                if let reason = new.reason { detail += " reason: \(reason)" }
                try Self.appendAudit(db, actor: actor, action: "rollout.state", subject: "rollout/\(id)", detail: detail)
            }
            return new
        }
    }

    public func updateRolloutItems(rollout id: String, _ updates: [RolloutItemUpdate], actor: String) async throws(DeskpoolError) -> [RolloutItem?] {
        guard !updates.isEmpty else { return [] }
        return try await write { db in
            let select = try db.cachedStatement(sql: "SELECT record FROM rolloutItem WHERE rollout = ? AND desktop = ?")
            let update = try db.cachedStatement(sql: "UPDATE rolloutItem SET record = ? WHERE rollout = ? AND desktop = ?")
            return try updates.map { change -> RolloutItem? in
                let desktop = try change.desktop.flatMap { event in
                    try Self.transition(db, change.desktopID, event, expecting: nil, actor: actor)
                }
                guard let json = try String.fetchOne(select, arguments: [id, change.desktopID]) else { return nil }
                let old = try StoreCoding.decode(RolloutItem.self, json: json)
                guard change.from.contains(old.status) else { return nil }
                var new = old
                change.change(&new, desktop)
                new.rollout = old.rollout
                new.desktopID = old.desktopID
                try update.execute(arguments: [try StoreCoding.json(new), id, change.desktopID])
                if new.status != old.status {
                    var detail = "\(old.status.rawValue) -> \(new.status.rawValue) (\(new.from) -> \(new.to))"
                    if let text = new.detail { detail += " detail: \(text)" }
                    try Self.appendAudit(db, actor: actor, action: "rollout.desktop", subject: "rollout/\(id)/\(new.desktop)", detail: detail)
                }
                return new
            }
        }
    }

    static func rollout(_ db: Database, id: String) throws -> Rollout? {
        try String.fetchOne(db, sql: "SELECT record FROM rollout WHERE id = ?", arguments: [id]).map { try StoreCoding.decode(Rollout.self, json: $0) }
    }
}
