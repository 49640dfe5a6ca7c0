import ArgumentParser
import DeskpoolCore
import DeskpoolStore
import Foundation
import Logging

/// `deskpool local store`: the store's schema, and the move of an installation from SQLite
/// to PostgreSQL.
struct LocalStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Migrate the configured store's schema, or copy this host's SQLite store into PostgreSQL.",
        subcommands: [Migrate.self, Copy.self]
    )

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or migrate the configured store's schema (the broker also does this when it starts) and list the migrations applied.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let (configuration, _) = try options.load()
            try CommandContext.stateDirectory(configuration).prepare()
            let store = try await CommandContext.openStore(configuration)
            let applied: [String] = switch store {
            case let sqlite as SQLiteStore: try await sqlite.appliedMigrations()
            case let postgres as PostgresStore: try await postgres.appliedMigrations()
            default: []
            }
            print("\(configuration.store.url == nil ? "SQLite" : "PostgreSQL") store: migrations applied: \(applied.joined(separator: ", "))")
        }
    }

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy this host's SQLite store (under stateDirectory) into an empty PostgreSQL database, one way.",
            discussion: """
                Stop the broker first: what it writes after the copy is not copied. Everything comes across as it \
                was: templates and version numbers, pools and their generations, desktops with their users and \
                sessions, rollouts, and the audit log in its order. The database must hold no Deskpool store yet \
                (the copy is refused otherwise, changing nothing); it is one transaction. Then set store.url in \
                deskpool.yaml to the same URL and start the broker. The password comes from \
                DESKPOOL_STORE_PASSWORD or --password-file (never from the URL).
                """)
        @OptionGroup var options: ConfigOptions
        @Option(help: "The PostgreSQL database: postgres://USER@HOST[:PORT]/DATABASE[?sslmode=...].") var to: String
        @Option(help: "A file holding the database password (first line; not readable by others).") var passwordFile: String?

        func run() async throws {
            let (configuration, _) = try options.load()
            let path = CommandContext.storePath(configuration)
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("there is no SQLite store at \(path) (stateDirectory in the configuration)")
            }
            let password = try StoreConfiguration(url: to, passwordFile: passwordFile).password()
            let target = try await PostgresStore(try PostgresStore.Settings.parse(url: to, password: password),
                                                 logger: Logger(label: "deskpool.store"))
            defer { target.close() }
            let snapshot = try await SQLiteStore(path: path).snapshot()
            try await target.load(snapshot, actor: adminActor(), from: path)
            print("copied \(snapshot.summary) into \(to)")
        }
    }
}
