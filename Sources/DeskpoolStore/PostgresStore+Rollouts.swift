public import DeskpoolCore
import Foundation
import PostgresNIO

extension PostgresStore {
    public func createRollout(_ rollout: Rollout, items: [RolloutItem], pools: [PoolSpec], actor: String) async throws(DeskpoolError) {
        for pool in pools { try pool.validate() }
        try await write { connection in
            if try await !Self.rows("SELECT 1 FROM rollout WHERE id = \(rollout.id)", on: connection).isEmpty {
                throw DeskpoolError(.alreadyExists, "a rollout with id '\(rollout.id)' already exists", field: "id")
            }
            let record = try StoreCoding.json(rollout)
            try await Self.execute("""
                INSERT INTO rollout (id, policy, state, record, created_at)
                VALUES (\(rollout.id), \(rollout.policy), \(rollout.state.rawValue), \(record), \(StoreCoding.millis(rollout.createdAt)))
                """, on: connection)
            for item in items {
                let json = try StoreCoding.json(item)
                try await Self.execute("""
                    INSERT INTO rollout_item (rollout, desktop, position, record) VALUES (\(rollout.id), \(item.desktopID), \(item.position), \(json))
                    """, on: connection)
            }
            try await Self.appendAudit(connection, actor: actor, action: "rollout.create", subject: "rollout/\(rollout.id)",
                                       detail: "\(rollout.kind.rawValue) \(rollout.policy): \(items.count) desktop(s) in \(rollout.waves) wave(s)")
            for spec in pools {
                try await Self.lock("pool/\(spec.name)", on: connection)
                let read = try await Self.pool(connection, named: spec.name, forUpdate: true)?.generation
                guard read == spec.generation - 1, try await Self.putPool(connection, spec, actor: actor).generation == spec.generation else {
                    throw DeskpoolError(.conflict, "pool \(spec.name) changed meanwhile (generation \(read.map(String.init) ?? "none"), "
                                        + "expected \(spec.generation - 1)): plan again", field: "spec.selector")
                }
            }
        }
    }

    public func rollout(id: String) async throws(DeskpoolError) -> Rollout? {
        try await read { connection in try await Self.rollout(connection, id: id) }
    }

    public func rollouts(in states: Set<Rollout.State>?, limit: Int) async throws(DeskpoolError) -> [Rollout] {
        try await read { connection in
            let limit = max(0, limit)
            let query: PostgresQuery = if let states {
                "SELECT record FROM rollout WHERE state = ANY(\(states.map(\.rawValue).sorted())) ORDER BY created_at DESC, id LIMIT \(limit)"
            } else {
                "SELECT record FROM rollout ORDER BY created_at DESC, id LIMIT \(limit)"
            }
            return try await Self.rows(query, on: connection).map { try StoreCoding.decode(Rollout.self, json: try $0["record"].decode(String.self)) }
        }
    }

    public func rolloutItems(rollout id: String) async throws(DeskpoolError) -> [RolloutItem] {
        try await read { connection in
            try await Self.rows("SELECT record FROM rollout_item WHERE rollout = \(id) ORDER BY position", on: connection)
                .map { try StoreCoding.decode(RolloutItem.self, json: try $0["record"].decode(String.self)) }
        }
    }

    public func updateRollout(
        _ id: String, from: Set<Rollout.State>, actor: String, change: @escaping @Sendable (inout Rollout) -> Void
    ) async throws(DeskpoolError) -> Rollout? {
        try await write { connection in
            guard let old = try await Self.rollout(connection, id: id, forUpdate: true), from.contains(old.state) else { return nil }
            var new = old
            change(&new)
            new.id = old.id
            new.updatedAt = StoreCoding.stored(Date())
            let record = try StoreCoding.json(new)
            try await Self.execute("UPDATE rollout SET state = \(new.state.rawValue), record = \(record) WHERE id = \(id)", on: connection)
            if new.state != old.state {
                var detail = "\(old.state.rawValue) -> \(new.state.rawValue)"
                if let reason = new.reason { detail += " reason: \(reason)" }
                try await Self.appendAudit(connection, actor: actor, action: "rollout.state", subject: "rollout/\(id)", detail: detail)
            }
            return new
        }
    }

    public func updateRolloutItems(rollout id: String, _ updates: [RolloutItemUpdate], actor: String) async throws(DeskpoolError) -> [RolloutItem?] {
        guard !updates.isEmpty else { return [] }
        return try await write { connection in
            var results: [RolloutItem?] = []
            for change in updates {
                var desktop: Desktop?
                if let event = change.desktop {
                    desktop = try await Self.transition(connection, change.desktopID, event, expecting: nil, actor: actor)
                }
                guard let row = try await Self.rows("""
                    SELECT record FROM rollout_item WHERE rollout = \(id) AND desktop = \(change.desktopID) FOR UPDATE
                    """, on: connection).first else {
                    results.append(nil)
                    continue
                }
                let old = try StoreCoding.decode(RolloutItem.self, json: try row["record"].decode(String.self))
                guard change.from.contains(old.status) else {
                    results.append(nil)
                    continue
                }
                var new = old
                change.change(&new, desktop)
                new.rollout = old.rollout
                new.desktopID = old.desktopID
                let record = try StoreCoding.json(new)
                try await Self.execute("UPDATE rollout_item SET record = \(record) WHERE rollout = \(id) AND desktop = \(change.desktopID)",
                                       on: connection)
                if new.status != old.status {
                    var detail = "\(old.status.rawValue) -> \(new.status.rawValue) (\(new.from) -> \(new.to))"
                    if let text = new.detail { detail += " detail: \(text)" }
                    try await Self.appendAudit(connection, actor: actor, action: "rollout.desktop", subject: "rollout/\(id)/\(new.desktop)", detail: detail)
                }
                results.append(new)
            }
            return results
        }
    }

    static func rollout(_ connection: PostgresConnection, id: String, forUpdate: Bool = false) async throws -> Rollout? {
        let query: PostgresQuery = forUpdate ? "SELECT record FROM rollout WHERE id = \(id) FOR UPDATE" : "SELECT record FROM rollout WHERE id = \(id)"
        return try await rows(query, on: connection).first.map { try StoreCoding.decode(Rollout.self, json: try $0["record"].decode(String.self)) }
    }
}
