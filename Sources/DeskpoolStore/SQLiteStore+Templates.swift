public import DeskpoolCore
import Foundation
import GRDB

extension SQLiteStore {
    public func putTemplate(_ template: TemplateDefinition, actor: String) async throws(DeskpoolError) {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO template (name, definition) VALUES (?, ?)
                    ON CONFLICT (name) DO UPDATE SET definition = excluded.definition
                    """,
                arguments: [template.name, try StoreCoding.json(template)])
            try Self.appendAudit(db, actor: actor, action: "template.put", subject: "template/\(template.name)")
        }
    }

    public func template(named name: String) async throws(DeskpoolError) -> TemplateDefinition? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT definition FROM template WHERE name = ?", arguments: [name])
                .map { try StoreCoding.decode(TemplateDefinition.self, json: $0) }
        }
    }

    public func templates() async throws(DeskpoolError) -> [TemplateDefinition] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT definition FROM template ORDER BY name")
                .map { try StoreCoding.decode(TemplateDefinition.self, json: $0) }
        }
    }

    public func beginVersion(template: String, note: String, actor: String) async throws(DeskpoolError) -> TemplateVersion {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM template WHERE name = ?", arguments: [template]) != nil else {
                throw DeskpoolError(.notFound, "no template named '\(template)'", field: "template")
            }
            let last = try Int.fetchOne(db, sql: "SELECT lastNumber FROM templateCounter WHERE template = ?", arguments: [template]) ?? 0
            let number = last + 1
            try db.execute(
                sql: """
                    INSERT INTO templateCounter (template, lastNumber) VALUES (?, ?)
                    ON CONFLICT (template) DO UPDATE SET lastNumber = excluded.lastNumber
                    """,
                arguments: [template, number])
            let version = TemplateVersion(
                template: template, number: number, volume: TemplateVersion.volumeName(template: template, number: number),
                note: note, createdAt: StoreCoding.stored(Date()), createdBy: actor, published: false)
            try db.execute(
                sql: """
                    INSERT INTO templateVersion (template, number, volume, note, createdAt, createdBy, published)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [template, number, version.volume, note, StoreCoding.millis(version.createdAt), actor, false])
            try Self.appendAudit(db, actor: actor, action: "template.version.begin", subject: "template/\(template)/\(number)", detail: note)
            return version
        }
    }

    public func publishVersion(template: String, number: Int, actor: String) async throws(DeskpoolError) {
        try await write { db in
            try db.execute(
                sql: "UPDATE templateVersion SET published = 1 WHERE template = ? AND number = ?",
                arguments: [template, number])
            guard db.changesCount > 0 else { throw StoreCoding.versionNotFound(template, number) }
            try Self.appendAudit(db, actor: actor, action: "template.version.publish", subject: "template/\(template)/\(number)")
        }
    }

    public func versions(template: String) async throws(DeskpoolError) -> [TemplateVersion] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM templateVersion WHERE template = ? ORDER BY number", arguments: [template])
                .map { row in
                    TemplateVersion(
                        template: row["template"], number: row["number"], volume: row["volume"], note: row["note"],
                        createdAt: StoreCoding.date(row["createdAt"]), createdBy: row["createdBy"], published: row["published"])
                }
        }
    }

    public func deleteVersion(template: String, number: Int, actor: String) async throws(DeskpoolError) {
        try await write { db in
            guard try Bool.fetchOne(
                db, sql: "SELECT 1 FROM templateVersion WHERE template = ? AND number = ?", arguments: [template, number]) != nil
            else { throw StoreCoding.versionNotFound(template, number) }
            if let desktop = try String.fetchOne(
                db, sql: "SELECT name FROM desktop WHERE template = ? AND version = ? ORDER BY name LIMIT 1",
                arguments: [template, number]) {
                throw DeskpoolError(.versionInUse, "version \(number) of template '\(template)' is used by desktop '\(desktop)'", field: "version")
            }
            // Pools are few; their specs are JSON, so the pin is checked on the decoded spec.
            for spec in try Self.allPools(db) where spec.template == template && spec.version == .pinned(number) {
                throw DeskpoolError(.versionInUse, "version \(number) of template '\(template)' is pinned by pool '\(spec.name)'", field: "version")
            }
            try db.execute(sql: "DELETE FROM templateVersion WHERE template = ? AND number = ?", arguments: [template, number])
            try Self.appendAudit(db, actor: actor, action: "template.version.delete", subject: "template/\(template)/\(number)")
        }
    }
}
