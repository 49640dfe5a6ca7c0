public import DeskpoolCore
import Foundation
public import Logging
import NIOSSL
import PostgresNIO
import Synchronization

/// The `Store` on PostgreSQL, for several brokers on one database (postgres-nio's connection
/// pool). Every write is one transaction that also appends its audit entry, as in
/// `SQLiteStore`; rows a write depends on are locked (`FOR UPDATE`), a claim skips the rows
/// another transaction holds (`FOR UPDATE SKIP LOCKED`), and a pool's desktop count is
/// serialized with a transaction-scoped advisory lock, so two brokers never both win.
///
/// The schema is created and migrated when the store opens (`PostgresSchema`), under an
/// advisory lock, so brokers starting together migrate once.
public final class PostgresStore: Store {
    /// Where the database is and how to reach it (`store:` in `etc/deskpool.yaml`).
    public struct Settings: Sendable, Hashable {
        public var host: String
        public var port: Int
        public var user: String
        /// Never logged, never in an error.
        public var password: String?
        public var database: String
        public var tls: TLS
        /// Connections this broker keeps at most.
        public var maximumConnections: Int
        /// How long one store call may take, waiting for a connection included, before it
        /// fails with `storeFailed` (the API's 503 with `Retry-After`). URL option `timeout`.
        public var operationTimeout: Duration? = .seconds(10)

        public enum TLS: Sendable, Hashable {
            /// No TLS (loopback, or a private network the admin trusts).
            case disable
            /// TLS, the server's certificate verified against the system's CAs, or the CA file.
            case require(caFile: String?)
        }

        public init(host: String, port: Int = 5432, user: String, password: String?, database: String, tls: TLS = .disable,
                    maximumConnections: Int = 20) {
            self.host = host
            self.port = port
            self.user = user
            self.password = password
            self.database = database
            self.tls = tls
            self.maximumConnections = maximumConnections
        }

        /// The settings of a `postgres://user@host:port/database?sslmode=...&sslrootcert=...`
        /// URL (a password in the URL is refused: it belongs in a file or the environment).
        public static func parse(url text: String, password: String?) throws(DeskpoolError) -> Settings {
            func invalid(_ why: String) -> DeskpoolError { DeskpoolError(.invalidInput, "store: \(why)", field: "store") }
            guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql" else {
                throw invalid("not a postgres:// URL")
            }
            guard url.password == nil else {
                throw invalid("the URL holds a password: put it in the file named by storePasswordFile, or in DESKPOOL_STORE_PASSWORD")
            }
            guard let host = url.host, !host.isEmpty else { throw invalid("the URL names no host") }
            guard let user = url.user, !user.isEmpty else { throw invalid("the URL names no user (postgres://USER@HOST/DATABASE)") }
            let database = String(url.path.drop { $0 == "/" })
            guard !database.isEmpty, !database.contains("/") else { throw invalid("the URL names no database (postgres://USER@HOST/DATABASE)") }
            var settings = Settings(host: host, port: url.port ?? 5432, user: user, password: password, database: database)
            var caFile: String?
            var mode = "disable"
            for item in url.queryItems ?? [] {
                switch item.name {
                case "sslmode": mode = item.value ?? ""
                case "sslrootcert": caFile = item.value
                case "timeout":
                    guard let seconds = item.value.flatMap(Int.init), (1...600).contains(seconds) else { throw invalid("timeout is 1 to 600 seconds") }
                    settings.operationTimeout = .seconds(seconds)
                case "pool_max":
                    guard let count = item.value.flatMap(Int.init), (1...500).contains(count) else { throw invalid("pool_max is 1 to 500") }
                    settings.maximumConnections = count
                default: throw invalid("unknown URL option \(item.name) (sslmode, sslrootcert, pool_max, timeout)")
                }
            }
            switch mode {
            case "disable": settings.tls = .disable
            case "require", "verify-full": settings.tls = .require(caFile: caFile)
            default: throw invalid("sslmode is disable, require or verify-full (require verifies the server's certificate too)")
            }
            return settings
        }
    }

    let client: PostgresClient
    let logger: Logger
    /// How long one store call may take, waiting for a connection included.
    let operationTimeout: Duration?
    private let runner: Task<Void, Never>

    /// Connects (the pool opens connections as they are needed) and, with `migrate`, creates
    /// or migrates the schema.
    public init(_ settings: Settings, migrate: Bool = true, logger: Logger = Logger(label: "deskpool.store")) async throws(DeskpoolError) {
        var configuration: PostgresClient.Configuration
        switch settings.tls {
        case .disable:
            configuration = .init(host: settings.host, port: settings.port, username: settings.user, password: settings.password,
                                  database: settings.database, tls: .disable)
        case .require(let caFile):
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile {
                do {
                    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
                } catch {
                    throw DeskpoolError(.invalidInput, "store: cannot read the CA file \(caFile): \(error)", field: "store")
                }
            }
            configuration = .init(host: settings.host, port: settings.port, username: settings.user, password: settings.password,
                                  database: settings.database, tls: .require(tls))
        }
        configuration.options.maximumConnections = settings.maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        operationTimeout = settings.operationTimeout
        let client = client
        // The pool serves leases only once run() is under way: wait for the task to start it.
        let (started, signal) = AsyncStream.makeStream(of: Void.self)
        runner = Task {
            signal.finish()
            await client.run()
        }
        for await _ in started {}
        guard migrate else { return }
        do {
            try await PostgresSchema.migrate(self)
        } catch {
            runner.cancel()
            throw error
        }
    }

    deinit {
        runner.cancel()
    }

    /// Closes the connections; the store cannot be used afterwards.
    public func close() {
        runner.cancel()
    }

    /// The schema migrations applied to this database, oldest first (none before the first).
    public func appliedMigrations() async throws(DeskpoolError) -> [String] {
        try await read { connection in
            guard try await !Self.rows("SELECT 1 FROM pg_tables WHERE tablename = 'deskpool_migration' AND schemaname = current_schema()",
                                       on: connection).isEmpty else { return [] }
            return try await Self.rows("SELECT name FROM deskpool_migration ORDER BY applied_order", on: connection).map { try $0["name"].decode(String.self) }
        }
    }

    // MARK: - Transactions

    /// Runs `body` in one transaction; a thrown error rolls everything back.
    ///
    /// Gives up after `timeout` (the settings' `operationTimeout`; nil: never) with
    /// `storeFailed` and a retry hint: while the database is unreachable the connection pool
    /// would keep a caller waiting for a connection for a minute or more. What was given up on
    /// is cancelled; a transaction that never committed changed nothing.
    ///
    /// Under a `LeaseFence`, the lease is checked first in the same transaction, and its row
    /// stays locked (shared) until the commit: a replica taking the lease over waits for this
    /// write, or this write sees the new generation and changes nothing.
    @discardableResult
    func write<T: Sendable>(timeout: Duration? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(DeskpoolError) -> T {
        try await transaction(timeout: timeout, fence: LeaseFence.current, body)
    }

    func transaction<T: Sendable>(timeout: Duration? = nil, fence: LeaseFence?,
                                          _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(DeskpoolError) -> T {
        let (client, logger) = (client, logger)
        let operation = Task { () async throws -> T in
            try await client.withTransaction(logger: logger) { connection in
                if let fence { try await Self.checkFence(fence, on: connection) }
                return try await body(connection)
            }
        }
        guard let limit = timeout ?? operationTimeout else {
            do { return try await operation.value } catch { throw Self.storeError(error) }
        }
        let outcome = await Self.race(operation, limit: limit)
        switch outcome {
        case .success(let value): return value
        case .failure(let error): throw Self.storeError(error)
        case nil:
            operation.cancel()
            throw DeskpoolError(.storeFailed, "the store failed: PostgreSQL did not answer within \(limit)", retryAfterSeconds: 5)
        }
    }

    /// Runs `body` on one connection in one transaction (a consistent snapshot for several
    /// statements).
    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(DeskpoolError) -> T {
        try await transaction(fence: nil, body)
    }

    /// The task's outcome, or nil when `limit` passed first (the task is left to its caller).
    private static func race<T: Sendable>(_ task: Task<T, any Error>, limit: Duration) async -> Result<T, any Error>? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>?, Never>) in
            let once = Mutex(false)
            let finish: @Sendable (Result<T, any Error>?) -> Void = { outcome in
                if once.withLock({ done in defer { done = true }; return !done }) { continuation.resume(returning: outcome) }
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                finish(nil)
            }
            Task {
                do { finish(.success(try await task.value)) } catch { finish(.failure(error)) }
                timer.cancel()  // a call that ended leaves no timer sleeping out its limit
            }
        }
    }

    /// Passes a `DeskpoolError` thrown inside a transaction through; anything else is a store
    /// failure, with the server's message only (never a query's bound values).
    static func storeError(_ error: any Error) -> DeskpoolError {
        switch error {
        case let error as DeskpoolError:
            return error
        case let error as PostgresTransactionError:
            if let inner = error.closureError as? DeskpoolError { return inner }
            return storeError(error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? StoreGone())
        case let error as PSQLError:
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState] ?? ""
                if state == "23505" { return DeskpoolError(.alreadyExists, "the store refused a duplicate: \(message)") }
                // Serialization failures and lost connections pass: clients may ask again.
                return DeskpoolError(.storeFailed, "the store failed: \(message)", retryAfterSeconds: 5)
            }
            return DeskpoolError(.storeFailed, "the store failed: PostgreSQL is unreachable (\(error.code))", retryAfterSeconds: 5)
        case is DecodingError, is EncodingError, is PostgresDecodingError:
            return DeskpoolError(.storeFailed, "the store failed: a stored record cannot be read or written (\(type(of: error)))")
        default:
            return DeskpoolError(.storeFailed, "the store failed: \(type(of: error))", retryAfterSeconds: 5)
        }
    }

    private struct StoreGone: Error {}

    /// Counts the statements sent to PostgreSQL by the task it is set in and its children (for
    /// benchmarks: what a reconcile pass costs the database, without the leases' renewals
    /// running beside it).
    public final class StatementCount: Sendable {
        private let count = Atomic<Int>(0)
        public init() {}
        public var value: Int { count.load(ordering: .relaxed) }
        func add() { count.add(1, ordering: .relaxed) }
    }

    @TaskLocal public static var statements: StatementCount?

    /// The rows of a query, each by column name.
    static func rows(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [PostgresRandomAccessRow] {
        statements?.add()
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await connection.query(query, logger: quiet) {
            rows.append(row.makeRandomAccess())
        }
        return rows
    }

    /// Runs a statement (with `RETURNING`, returns how many rows it returned).
    @discardableResult
    static func execute(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> Int {
        statements?.add()
        var count = 0
        for try await _ in try await connection.query(query, logger: quiet) { count += 1 }
        return count
    }

    /// Queries log nothing (their binds may hold a user's data).
    static let quiet = Logger(label: "deskpool.store.query", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Appends an audit entry inside the caller's transaction.
    static func appendAudit(_ connection: PostgresConnection, actor: String, action: String, subject: String, detail: String = "",
                            at: Date = Date()) async throws {
        let (actor, action, subject, detail) = (AuditEntry.Field.actor.cap(actor), AuditEntry.Field.action.cap(action),
                                                AuditEntry.Field.subject.cap(subject), AuditEntry.Field.detail.cap(detail))
        try await execute("""
            INSERT INTO audit (at, actor, action, subject, result, detail) VALUES (\(StoreCoding.millis(at)), \(actor), \(action), \(subject), 'ok', \(detail))
            """, on: connection)
    }

    /// Serializes the transactions that take the same key until they end.
    static func lock(_ key: String, on connection: PostgresConnection) async throws {
        try await execute("SELECT pg_advisory_xact_lock(hashtext(\(key)))", on: connection)
    }
}
