public import DeskpoolCore
import Foundation
import GRDB

/// The embedded `Store`: one SQLite file through GRDB.
///
/// A file store is a WAL-mode `DatabasePool`, so the `deskpool` CLI and `deskpool serve` can
/// open the same file at once: readers never block the writer, and a writer waits (up to the
/// busy timeout) for another process's write instead of failing. Every write is one
/// transaction that also appends its audit entry.
public final class SQLiteStore: Store {
    /// `DatabasePool` for a file, `DatabaseQueue` in memory; the code never cares which.
    let writer: any DatabaseWriter
    /// The store file; nil in memory.
    let path: String?

    private init(writer: any DatabaseWriter, path: String? = nil) throws(DeskpoolError) {
        self.writer = writer
        self.path = path
        do {
            try Migrations.migrate(writer)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Opens (creating if needed) the store file at `path`, and its parent directory.
    public convenience init(path: String) throws(DeskpoolError) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DeskpoolError(.storeFailed, "the store failed: cannot create the directory \(directory): \(error.localizedDescription)")
        }
        // Created 0600 before SQLite opens it: SQLite gives the -wal and -shm files the
        // database file's mode, so the audit log and policy sources stay the broker's own.
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw DeskpoolError(.storeFailed, "the store failed: cannot open \(path): \(String(cString: strerror(errno)))")
        }
        close(descriptor)
        var configuration = Configuration()
        // Another process may hold the write lock for a moment: wait rather than fail.
        configuration.busyMode = .timeout(5)
        // WAL with synchronous=NORMAL: a commit is safe from a crash of the broker (kill -9)
        // and never corrupts the file, but is not fsynced one by one, so a power loss may undo
        // the last commits. Recovery already handles that state (a domain without a record is
        // adopted by its metadata; a record whose side effect never happened is driven again),
        // and commits stop queueing behind one fsync each (console requests, audit lines).
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw Self.storeError(error)
        }
        try self.init(writer: pool, path: path)
    }

    /// A private, empty store that lives as long as the returned object (for tests and
    /// dry runs).
    public static func inMemory() throws(DeskpoolError) -> SQLiteStore {
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue()
        } catch {
            throw storeError(error)
        }
        return try SQLiteStore(writer: queue)
    }

    /// The schema migrations applied to this store, oldest first (for `deskpool doctor`).
    public func appliedMigrations() async throws(DeskpoolError) -> [String] {
        try await read { db in try Migrations.migrator.appliedMigrations(db) }
    }

    // MARK: - Helpers

    /// Runs `body` in one write transaction (IMMEDIATE for a pool, so the reads inside it see
    /// the latest data of every process); a thrown error rolls everything back.
    ///
    /// Under a `LeaseFence`, the lease is checked first in the same transaction.
    /// `unfenced`: the lease calls themselves, which never carry a fence.
    func write<T: Sendable>(unfenced: Bool = false, _ body: @Sendable (Database) throws -> T) async throws(DeskpoolError) -> T {
        let fence = unfenced ? nil : LeaseFence.current
        do {
            return try await writer.write { db in
                if let fence { try Self.checkFence(fence, db) }
                return try body(db)
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws(DeskpoolError) -> T {
        do {
            return try await writer.read(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Passes a `DeskpoolError` thrown inside a transaction through; anything else is a store
    /// failure. Only SQLite's message is kept: never the SQL's bound values.
    static func storeError(_ error: any Error) -> DeskpoolError {
        switch error {
        case let error as DeskpoolError:
            return error
        case let error as DatabaseError:
            // A full or read-only disk passes once an admin acts: clients may ask again.
            return DeskpoolError(.storeFailed, "the store failed: \(error.message ?? "\(error.resultCode)")", retryAfterSeconds: 5)
        case is DecodingError, is EncodingError:
            return DeskpoolError(.storeFailed, "the store failed: a stored record cannot be read or written (\(type(of: error)))")
        default:
            return DeskpoolError(.storeFailed, "the store failed: \(error.localizedDescription)")
        }
    }

    /// Appends an audit entry inside the caller's transaction.
    static func appendAudit(_ db: Database, actor: String, action: String, subject: String, detail: String = "", at: Date = Date()) throws {
        try db.cachedStatement(sql: "INSERT INTO audit (at, actor, action, subject, result, detail) VALUES (?, ?, ?, ?, 'ok', ?)")
            .execute(arguments: [StoreCoding.millis(at), AuditEntry.Field.actor.cap(actor), AuditEntry.Field.action.cap(action),
                                AuditEntry.Field.subject.cap(subject), AuditEntry.Field.detail.cap(detail)])
    }
}
