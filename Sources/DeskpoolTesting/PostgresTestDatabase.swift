public import DeskpoolStore
import Foundation
import Logging
import PostgresNIO

/// A database of its own for one test on the server named by the environment, dropped after.
///
/// The server: `DESKPOOL_TEST_POSTGRES` (a `postgres://USER@HOST:PORT/DATABASE` URL of a role
/// that may create databases) and `DESKPOOL_TEST_POSTGRES_PASSWORD_FILE`; `scripts/test` starts
/// one (`scripts/postgres start`). Without them a test throws in CI and prints SKIPPED
/// elsewhere.
public enum PostgresTestDatabase {
    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String {
            "PostgreSQL tests need DESKPOOL_TEST_POSTGRES and DESKPOOL_TEST_POSTGRES_PASSWORD_FILE (scripts/postgres start starts a server)"
        }
    }

    /// Whether the tests run: a server is named, or this is CI (where a missing one fails).
    public static var runs: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["DESKPOOL_TEST_POSTGRES"] != nil || !(environment["CI"] ?? "").isEmpty
    }

    public static func with(_ body: (PostgresStore.Settings) async throws -> Void) async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["DESKPOOL_TEST_POSTGRES"], let file = environment["DESKPOOL_TEST_POSTGRES_PASSWORD_FILE"] else {
            if let ci = environment["CI"], !ci.isEmpty { throw NotConfigured() }
            print("SKIPPED (not CI): \(NotConfigured())")
            return
        }
        let password = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let base = try PostgresStore.Settings.parse(url: url, password: password)
        let name = "deskpool_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        let admin = PostgresClient(configuration: .init(host: base.host, port: base.port, username: base.user, password: password,
                                                        database: base.database, tls: .disable),
                                   backgroundLogger: Logger(label: "test.postgres", factory: { _ in SwiftLogNoOpLogHandler() }))
        let runner = Task { await admin.run() }
        defer { runner.cancel() }
        // The name is ours (letters and digits): no bind is possible for an identifier.
        // From template0 (no one ever connects to it); PostgreSQL refuses a CREATE DATABASE
        // now and then while another runs, so a few tries.
        for attempt in 1...5 {
            do {
                try await run("CREATE DATABASE \(name) TEMPLATE template0", on: admin)
                break
            } catch where attempt < 5 {
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        var settings = base
        settings.database = name
        do {
            try await body(settings)
        } catch {
            _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"))
            throw error
        }
        // An autovacuum worker (the server's own role, which this one may not terminate) can be
        // in the database for a moment: then dropping it fails; it is gone soon after.
        for attempt in 1...10 {
            do {
                try await run("DROP DATABASE \(name) WITH (FORCE)", on: admin)
                return
            } catch where attempt < 10 {
                try await Task.sleep(for: .milliseconds(300))
            }
        }
    }

    /// An admin statement; its failure says what the server said.
    private static func run(_ sql: String, on client: PostgresClient) async throws {
        do {
            try await client.query(PostgresQuery(unsafeSQL: sql))
        } catch let error as PSQLError {
            throw AdminFailure(description: "\(sql): \(error.serverInfo?[.message] ?? "\(error.code)")")
        }
    }

    struct AdminFailure: Error, CustomStringConvertible {
        let description: String
    }
}
