import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Testing

/// `StoreConformance` against SQLite, in memory and in a file, plus what only a file store
/// has: two processes sharing it, reopening, migrations.
@Suite struct SQLiteStoreTests {
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case memory, file
        var testDescription: String { rawValue }
    }

    /// Runs `body` on a fresh store; a file store's directory is removed afterwards.
    func withStore(_ backend: Backend, _ body: (any Store) async throws -> Void) async throws {
        switch backend {
        case .memory:
            try await body(try SQLiteStore.inMemory())
        case .file:
            try await withTemporaryDirectory { directory in
                // A missing parent directory is created by the store.
                try await body(try SQLiteStore(path: "\(directory)/var/deskpool.sqlite"))
            }
        }
    }

    func withTemporaryDirectory(_ body: (String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-store-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(directory)
    }

    // MARK: - Conformance

    @Test(arguments: Backend.allCases) func templates(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.templates)
    }

    @Test(arguments: Backend.allCases) func versionNumbering(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.versionNumbering)
    }

    @Test(arguments: Backend.allCases) func deleteVersionInUse(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.deleteVersionInUse)
    }

    @Test(arguments: Backend.allCases) func poolGeneration(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.poolGeneration)
    }

    @Test(arguments: Backend.allCases) func poolRejectsInvalidSpec(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.poolRejectsInvalidSpec)
    }

    @Test(arguments: Backend.allCases) func insertDesktopWithLimit(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.insertDesktopWithLimit)
    }

    @Test(arguments: Backend.allCases) func duplicateDesktopName(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.duplicateDesktopName)
    }

    @Test(arguments: Backend.allCases) func transitionCompareAndSet(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.transitionCompareAndSet)
    }

    @Test(arguments: Backend.allCases) func deleteDesktop(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.deleteDesktop)
    }

    @Test(arguments: Backend.allCases) func claimReadyOldestFirst(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.claimReadyOldestFirst)
    }

    @Test(arguments: Backend.allCases) func claimReadyConcurrent(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.claimReadyConcurrent)
    }

    @Test(arguments: Backend.allCases) func auditLog(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.auditLog)
    }

    @Test(arguments: Backend.allCases) func rolloutWithPools(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.rolloutWithPools)
    }

    @Test(arguments: Backend.allCases) func rolloutItemBatch(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.rolloutItemBatch)
    }

    @Test func runAllOnFreshStores() async throws {
        try await StoreConformance.runAll { try SQLiteStore.inMemory() }
    }

    @Test func survivesReopening() async throws {
        try await withTemporaryDirectory { directory in
            try await StoreConformance.survivesReopening { try SQLiteStore(path: "\(directory)/deskpool.sqlite") }
        }
    }

    @Test(arguments: Backend.allCases) func probeWrite(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.probeWrite)
    }

    @Test(arguments: Backend.allCases) func logins(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.logins)
    }

    @Test(arguments: Backend.allCases) func secrets(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.secrets)
    }

    @Test(arguments: Backend.allCases) func loginFailures(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.loginFailures)
    }

    @Test(arguments: Backend.allCases) func challenges(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.challenges)
    }

    @Test(arguments: Backend.allCases) func usage(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.usage)
    }

    @Test(arguments: Backend.allCases) func leases(_ backend: Backend) async throws {
        try await withStore(backend, StoreConformance.leases)
    }

    // MARK: - A file shared by two processes

    /// Two stores on one file stand for the CLI and the server: each sees the other's
    /// commits, and a desktop is never claimed through both.
    @Test func twoStoresShareOneFile() async throws {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/deskpool.sqlite"
            let cli = try SQLiteStore(path: path), server = try SQLiteStore(path: path)
            try await cli.putTemplate(TemplateDefinition(name: "tiny", domainXML: "<domain/>"), actor: "admin:alice")
            #expect(try await server.template(named: "tiny")?.name == "tiny")
            let version = try await server.beginVersion(template: "tiny", note: "one", actor: "admin:alice")
            #expect(try await cli.versions(template: "tiny") == [version])

            try await StoreConformance.claimConcurrently(stores: [cli, server])
            #expect(try await cli.auditLog(subject: nil, limit: 100) == (try await server.auditLog(subject: nil, limit: 100)))
        }
    }

    /// Pool specs are decoded once per stored text: a change by the other store (the CLI while
    /// the server runs) is read at once, and changing a spec back reads the old spec again.
    @Test func poolChangedByTheOtherStoreIsReadAtOnce() async throws {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/deskpool.sqlite"
            let cli = try SQLiteStore(path: path), server = try SQLiteStore(path: path)
            try await cli.putTemplate(TemplateDefinition(name: "tiny", domainXML: "<domain/>"), actor: "admin:alice")
            var spec = PoolSpec(name: "eng", template: "tiny", max: 4, spare: 1)
            try await cli.putPool(spec, actor: "admin:alice")
            #expect(try await server.pool(named: "eng")?.max == 4)
            #expect(try await server.pool(named: "eng", withDesktopsOf: "alice")?.pool.max == 4)
            spec.max = 9
            try await cli.putPool(spec, actor: "admin:alice")
            #expect(try await server.pool(named: "eng")?.max == 9)
            #expect(try await server.pool(named: "eng", withDesktopsOf: "alice")?.pool.max == 9)
            spec.max = 4
            try await cli.putPool(spec, actor: "admin:alice")
            let back = try await server.pool(named: "eng")
            #expect(back?.max == 4)
            #expect(back?.generation == 3)
        }
    }

    // MARK: - Migrations

    @Test func migrationsRunOnceAcrossReopening() async throws {
        try await withTemporaryDirectory { directory in
            let path = "\(directory)/deskpool.sqlite"
            do {
                let store = try SQLiteStore(path: path)
                #expect(try await store.appliedMigrations() == ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12"])
                try await store.putPool(PoolSpec(name: "eng", template: "tiny"), actor: "admin:alice")
            }
            for _ in 1...2 {
                let store = try SQLiteStore(path: path)
                #expect(try await store.appliedMigrations() == ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12"])
                #expect(try await store.pool(named: "eng")?.generation == 1)
            }
        }
    }

    /// Opening a file in a directory that cannot be made is a store failure, not a crash.
    @Test func unwritableDirectory() throws {
        let error = #expect(throws: DeskpoolError.self) { try SQLiteStore(path: "/proc/deskpool/store.sqlite") }
        #expect(error?.code == .storeFailed)
    }
}
