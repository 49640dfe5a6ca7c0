public import DeskpoolCore
import Foundation
import PostgresNIO

extension PostgresStore {
    public func putTemplate(_ template: TemplateDefinition, actor: String) async throws(DeskpoolError) {
        try await write { connection in
            let definition = try StoreCoding.json(template)
            try await Self.execute("""
                INSERT INTO template (name, definition) VALUES (\(template.name), \(definition))
                ON CONFLICT (name) DO UPDATE SET definition = excluded.definition
                """, on: connection)
            try await Self.appendAudit(connection, actor: actor, action: "template.put", subject: "template/\(template.name)")
        }
    }

    public func template(named name: String) async throws(DeskpoolError) -> TemplateDefinition? {
        try await read { connection in
            try await Self.rows("SELECT definition FROM template WHERE name = \(name)", on: connection)
                .first.map { try StoreCoding.decode(TemplateDefinition.self, json: try $0["definition"].decode(String.self)) }
        }
    }

    public func templates() async throws(DeskpoolError) -> [TemplateDefinition] {
        try await read { connection in
            try await Self.rows("SELECT definition FROM template ORDER BY name", on: connection)
                .map { try StoreCoding.decode(TemplateDefinition.self, json: try $0["definition"].decode(String.self)) }
        }
    }

    public func beginVersion(template: String, note: String, actor: String) async throws(DeskpoolError) -> TemplateVersion {
        try await write { connection in
            guard try await !Self.rows("SELECT 1 FROM template WHERE name = \(template)", on: connection).isEmpty else {
                throw DeskpoolError(.notFound, "no template named '\(template)'", field: "template")
            }
            // One statement takes the next number: two brokers never get the same one.
            let number = try await Self.rows("""
                INSERT INTO template_counter (template, last_number) VALUES (\(template), 1)
                ON CONFLICT (template) DO UPDATE SET last_number = template_counter.last_number + 1
                RETURNING last_number
                """, on: connection)[0]["last_number"].decode(Int.self)
            let version = TemplateVersion(
                template: template, number: number, volume: TemplateVersion.volumeName(template: template, number: number),
                note: note, createdAt: StoreCoding.stored(Date()), createdBy: actor, published: false)
            try await Self.execute("""
                INSERT INTO template_version (template, number, volume, note, created_at, created_by, published)
                VALUES (\(template), \(number), \(version.volume), \(note), \(StoreCoding.millis(version.createdAt)), \(actor), FALSE)
                """, on: connection)
            try await Self.appendAudit(connection, actor: actor, action: "template.version.begin", subject: "template/\(template)/\(number)", detail: note)
            return version
        }
    }

    public func publishVersion(template: String, number: Int, actor: String) async throws(DeskpoolError) {
        try await write { connection in
            let changed = try await Self.execute("""
                UPDATE template_version SET published = TRUE WHERE template = \(template) AND number = \(number) RETURNING 1
                """, on: connection)
            guard changed > 0 else { throw StoreCoding.versionNotFound(template, number) }
            try await Self.appendAudit(connection, actor: actor, action: "template.version.publish", subject: "template/\(template)/\(number)")
        }
    }

    public func versions(template: String) async throws(DeskpoolError) -> [TemplateVersion] {
        try await read { connection in
            try await Self.rows("SELECT * FROM template_version WHERE template = \(template) ORDER BY number", on: connection).map { row in
                TemplateVersion(
                    template: try row["template"].decode(String.self), number: try row["number"].decode(Int.self),
                    volume: try row["volume"].decode(String.self), note: try row["note"].decode(String.self),
                    createdAt: StoreCoding.date(try row["created_at"].decode(Int64.self)), createdBy: try row["created_by"].decode(String.self),
                    published: try row["published"].decode(Bool.self))
            }
        }
    }

    public func deleteVersion(template: String, number: Int, actor: String) async throws(DeskpoolError) {
        try await write { connection in
            guard try await !Self.rows("""
                SELECT 1 FROM template_version WHERE template = \(template) AND number = \(number) FOR UPDATE
                """, on: connection).isEmpty else { throw StoreCoding.versionNotFound(template, number) }
            if let row = try await Self.rows("""
                SELECT name FROM desktop WHERE template = \(template) AND version = \(number) ORDER BY name LIMIT 1
                """, on: connection).first {
                let desktop = try row["name"].decode(String.self)
                throw DeskpoolError(.versionInUse, "version \(number) of template '\(template)' is used by desktop '\(desktop)'", field: "version")
            }
            for spec in try await Self.allPools(connection) where spec.template == template && spec.version == .pinned(number) {
                throw DeskpoolError(.versionInUse, "version \(number) of template '\(template)' is pinned by pool '\(spec.name)'", field: "version")
            }
            try await Self.execute("DELETE FROM template_version WHERE template = \(template) AND number = \(number)", on: connection)
            try await Self.appendAudit(connection, actor: actor, action: "template.version.delete", subject: "template/\(template)/\(number)")
        }
    }
}
