public import DeskpoolCore

extension StoreConformance {
    /// A template is stored whole, replaced by a second put, and listed by name.
    public static func templates(_ store: any Store) async throws {
        try expectEqual(try await store.template(named: "tiny"), nil, "template before any put")
        let tiny = template("tiny")
        try await store.putTemplate(tiny, actor: admin)
        try await store.putTemplate(template("alpha"), actor: admin)
        try expectEqual(try await store.template(named: "tiny"), tiny, "template after put")
        var bigger = tiny
        bigger.memoryMiB = 4096
        try await store.putTemplate(bigger, actor: admin)
        try expectEqual(try await store.template(named: "tiny"), bigger, "template after a second put")
        try expectEqual(try await store.templates().map(\.name), ["alpha", "tiny"], "templates, by name")
        try await expectAudit(store, subject: "template/tiny", action: "template.put")
    }

    /// Versions are numbered 1, 2, 3…, start unpublished, and a deleted number is never
    /// handed out again.
    public static func versionNumbering(_ store: any Store) async throws {
        try await expectError(.notFound, field: "template", "beginVersion of a missing template") {
            try await store.beginVersion(template: "tiny", note: "first", actor: admin)
        }
        try await store.putTemplate(template("tiny"), actor: admin)
        var numbers: [Int] = []
        for note in ["first", "second", "third"] {
            let version = try await store.beginVersion(template: "tiny", note: note, actor: admin)
            numbers.append(version.number)
            try expectEqual(version.published, false, "a begun version's published flag")
            try expectEqual(version.note, note, "a begun version's note")
            try expectEqual(version.createdBy, admin, "a begun version's creator")
            try expectEqual(version.volume, TemplateVersion.volumeName(template: "tiny", number: version.number), "volume name")
        }
        try expectEqual(numbers, [1, 2, 3], "version numbers")
        try await expectAudit(store, subject: "template/tiny/3", action: "template.version.begin", detail: "third")

        try await store.publishVersion(template: "tiny", number: 2, actor: admin)
        try await expectAudit(store, subject: "template/tiny/2", action: "template.version.publish")
        let listed = try await store.versions(template: "tiny")
        try expectEqual(listed.map(\.number), [1, 2, 3], "versions, oldest first")
        try expectEqual(listed.map(\.published), [false, true, false], "published flags")
        try expectEqual(listed.last?.createdAt, try await store.versions(template: "tiny").last?.createdAt, "createdAt read twice")
        try await expectError(.notFound, "publishVersion of a missing version") {
            try await store.publishVersion(template: "tiny", number: 9, actor: admin)
        }

        try await store.deleteVersion(template: "tiny", number: 3, actor: admin)
        try await expectAudit(store, subject: "template/tiny/3", action: "template.version.delete")
        try expectEqual(try await store.versions(template: "tiny").map(\.number), [1, 2], "versions after deleting 3")
        let next = try await store.beginVersion(template: "tiny", note: "fourth", actor: admin)
        try expectEqual(next.number, 4, "the number after a deleted highest version")
        try await expectError(.notFound, "deleteVersion of a missing version") {
            try await store.deleteVersion(template: "tiny", number: 3, actor: admin)
        }
    }

    /// A version is not deleted while a desktop uses it or a pool pins it.
    public static func deleteVersionInUse(_ store: any Store) async throws {
        try await store.putTemplate(template("tiny"), actor: admin)
        _ = try await store.beginVersion(template: "tiny", note: "one", actor: admin)
        _ = try await store.beginVersion(template: "tiny", note: "two", actor: admin)
        let user = desktop("eng-001", version: 1)
        try expect(try await store.insertDesktop(user, actor: admin, limit: nil), "insert a desktop of version 1")
        try await store.putPool(PoolSpec(name: "eng", template: "tiny", version: .pinned(2)), actor: admin)

        try await expectError(.versionInUse, "deleting a version a desktop uses") {
            try await store.deleteVersion(template: "tiny", number: 1, actor: admin)
        }
        try await expectError(.versionInUse, "deleting a version a pool pins") {
            try await store.deleteVersion(template: "tiny", number: 2, actor: admin)
        }
        try expectEqual(try await store.versions(template: "tiny").count, 2, "versions after refused deletes")

        try await store.deleteDesktop(id: user.id, actor: admin)
        try await store.putPool(PoolSpec(name: "eng", template: "tiny", version: .latest), actor: admin)
        try await store.deleteVersion(template: "tiny", number: 1, actor: admin)
        try await store.deleteVersion(template: "tiny", number: 2, actor: admin)
        try expectEqual(try await store.versions(template: "tiny").count, 0, "versions once nothing uses them")
    }
}
