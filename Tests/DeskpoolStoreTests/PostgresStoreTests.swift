import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Synchronization
import Testing

/// `StoreConformance` against PostgreSQL, each check on a database of its own, plus what only a
/// shared database has: two stores (two brokers) claiming from one pool, and migrations that
/// run once when brokers start together.
///
/// Needs a server (`PostgresTestDatabase`; `scripts/test` starts one): without it the suite
/// fails in CI and is reported skipped elsewhere.
@Suite(.serialized, .enabled(if: PostgresTestDatabase.runs, "no PostgreSQL server: DESKPOOL_TEST_POSTGRES is not set (scripts/postgres start)"))
struct PostgresStoreTests {
    static let checkNames = StoreConformance.checks.map(\.name)

    @Test(arguments: checkNames) func conformance(_ name: String) async throws {
        let check = try #require(StoreConformance.checks.first { $0.name == name }).run
        try await PostgresTestDatabase.with { settings in
            let store = try await PostgresStore(settings)
            defer { store.close() }
            try await check(store)
        }
    }

    @Test func survivesReopening() async throws {
        try await PostgresTestDatabase.with { settings in
            try await StoreConformance.survivesReopening { try await PostgresStore(settings) }
        }
    }

    /// Two brokers on one database: 50 claims from 20 ready desktops through both give 20
    /// distinct desktops and no desktop twice.
    @Test func twoStoresClaimFromOnePool() async throws {
        try await PostgresTestDatabase.with { settings in
            let one = try await PostgresStore(settings), two = try await PostgresStore(settings)
            defer { one.close(); two.close() }
            try await StoreConformance.claimConcurrently(stores: [one, two])
        }
    }

    /// Brokers that start together on an empty database migrate it once.
    @Test func brokersStartingTogetherMigrateOnce() async throws {
        try await PostgresTestDatabase.with { settings in
            let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
                for _ in 0..<4 { group.addTask { try await PostgresStore(settings) } }
                return try await group.reduce(into: [PostgresStore]()) { $0.append($1) }
            }
            defer { stores.forEach { $0.close() } }
            for store in stores { #expect(try await store.appliedMigrations() == ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"]) }
        }
    }

    /// `deskpool local store copy`: an installation's SQLite store comes across whole (version
    /// numbers, generations, draining, users and sessions, rollouts, the audit log in order),
    /// carries on where it was, and a second copy into the same database is refused.
    @Test func copyFromSQLite() async throws {
        try await PostgresTestDatabase.with { settings in
            let source = try SQLiteStore.inMemory()
            let admin = "admin:alice"
            try await source.putTemplate(TemplateDefinition(name: "tiny", vcpus: 1, memoryMiB: 256, domainXML: "<domain/>"), actor: admin)
            for note in ["one", "two", "three"] { _ = try await source.beginVersion(template: "tiny", note: note, actor: admin) }
            try await source.publishVersion(template: "tiny", number: 2, actor: admin)
            try await source.deleteVersion(template: "tiny", number: 3, actor: admin)
            var eng = PoolSpec(name: "eng", template: "tiny", max: 4, spare: 1)
            try await source.putPool(eng, actor: admin)
            eng.max = 6
            try await source.putPool(eng, actor: admin)
            try await source.putPool(PoolSpec(name: "old", template: "tiny", max: 1, spare: 0), actor: admin)
            _ = try await source.drainPool(named: "old", actor: admin)
            let at = Date(timeIntervalSince1970: 1_700_000_000)
            for (index, name) in ["eng-001", "eng-002"].enumerated() {
                _ = try await source.insertDesktop(Desktop(id: "id-\(name)", name: name, pool: "eng", host: "h", template: "tiny", version: 2,
                                                           state: .ready, createdAt: at, updatedAt: at.addingTimeInterval(Double(index))),
                                                   actor: "broker", limit: nil)
            }
            _ = try await source.claimReady(pool: "eng", user: "bob", actor: "bob")
            let rollout = Rollout(id: "r1", policy: "eng-v2", kind: .update, source: "kind: UpdatePolicy\n",
                                  pools: [Rollout.PoolChange(pool: "eng", fromVersion: 1, toVersion: 2)], waves: 1, createdAt: at, createdBy: admin)
            try await source.createRollout(rollout, items: [RolloutItem(rollout: "r1", desktopID: "id-eng-002", desktop: "eng-002", pool: "eng",
                                                                        position: 0, wave: 0, from: "v1", to: "v2")], actor: admin)
            let snapshot = try await source.snapshot()

            let target = try await PostgresStore(settings)
            defer { target.close() }
            try await target.load(snapshot, actor: admin, from: "test.sqlite")
            #expect(try await target.templates() == (try await source.templates()))
            #expect(try await target.versions(template: "tiny") == (try await source.versions(template: "tiny")))
            #expect(try await target.pools() == (try await source.pools()))
            #expect(try await target.desktops(pool: nil) == (try await source.desktops(pool: nil)))
            #expect(try await target.rollouts(active: false, limit: 10) == (try await source.rollouts(active: false, limit: 10)))
            #expect(try await target.rolloutItems(rollout: "r1") == (try await source.rolloutItems(rollout: "r1")))
            let copied = try await target.auditLog(subject: nil, limit: 1000)
            let original = try await source.auditLog(subject: nil, limit: 1000)
            #expect(copied.first?.action == "store.copy")
            #expect(Array(copied.dropFirst()) == original)
            #expect((copied.first?.id ?? 0) > (original.first?.id ?? 0))
            // It carries on: the next version number is 4 (3 was handed out, then deleted).
            #expect(try await target.beginVersion(template: "tiny", note: "four", actor: admin).number == 4)
            #expect(try await target.pool(named: "eng")?.generation == 2)
            #expect(try await target.pool(named: "old")?.draining == true)
            // The usage history too (bob's session), and the copied session goes on recording there.
            let usage = try await source.usage(UsageQuery())
            #expect(usage.count == 1 && usage.first?.user == "bob")
            #expect(try await target.usage(UsageQuery()) == usage)
            let held = try #require(try await target.desktops(pool: "eng").first { $0.user == "bob" })
            _ = try await target.transition(held.id, .loggedOff(action: .refresh, floating: true, reason: "user"), actor: "bob")
            #expect(try await target.usage(UsageQuery()).first?.endReason == "user")

            let error = await #expect(throws: DeskpoolError.self) { try await target.load(snapshot, actor: admin, from: "again") }
            #expect(error?.code == .conflict)
            #expect(try await target.templates().count == 1)
        }
    }
}

/// The store's settings from `store.url`: no server needed.
struct PostgresSettingsTests {
    /// What a reviewer of the store's settings checks: the URL's forms and its refusals.
    @Test func settingsFromAURL() throws {
        let settings = try PostgresStore.Settings.parse(url: "postgres://deskpool@db.example:6432/deskpool?sslmode=require&sslrootcert=/etc/ca.pem&pool_max=40",
                                                        password: "secret")
        #expect(settings.host == "db.example")
        #expect(settings.port == 6432)
        #expect(settings.user == "deskpool")
        #expect(settings.database == "deskpool")
        #expect(settings.tls == .require(caFile: "/etc/ca.pem"))
        #expect(settings.maximumConnections == 40)
        #expect(settings.password == "secret")
        #expect(try PostgresStore.Settings.parse(url: "postgresql://u@h/d", password: nil).tls == .disable)
        for bad in ["postgres://u:pw@h/d", "mysql://u@h/d", "postgres://h/d", "postgres://u@h/", "postgres://u@h/d?sslmode=allow",
                    "postgres://u@h/d?search_path=x", "postgres://u@h/d?pool_max=0"] {
            #expect(throws: DeskpoolError.self, "\(bad)") { try PostgresStore.Settings.parse(url: bad, password: nil) }
        }
        // The password never shows in what the refusal says.
        do {
            _ = try PostgresStore.Settings.parse(url: "postgres://u:hunter2@h/d", password: nil)
        } catch {
            #expect(!error.message.contains("hunter2"))
        }
    }
}

/// `ReplicaRig` on PostgreSQL: three replicas, each with its own `PostgresStore`.
@Suite(.serialized, .enabled(if: PostgresTestDatabase.runs, "no PostgreSQL server: DESKPOOL_TEST_POSTGRES is not set (scripts/postgres start)"))
struct PostgresReplicaTests {
    @Test func takeoverDuringRefill() async throws {
        try await PostgresTestDatabase.with { settings in
            let stores = Mutex<[PostgresStore]>([])
            defer { stores.withLock { $0.forEach { $0.close() } } }
            try await ReplicaRig.takeoverDuringRefill {
                let store = try await PostgresStore(settings)
                stores.withLock { $0.append(store) }
                return store
            }
        }
    }
}
