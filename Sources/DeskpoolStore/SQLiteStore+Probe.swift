public import DeskpoolCore
public import Foundation
import GRDB

extension SQLiteStore {
    /// Below this, the store's file system counts as full: SQLite may still fit a small write
    /// in pages it has, but the next larger one fails.
    public static let minimumFreeBytes: UInt64 = 4 << 20

    /// A write, and room for more: the file system holding the store has at least
    /// `minimumFreeBytes` free for unprivileged writers (the reserve only root may use is not
    /// counted: it is how an admin gets a full host back).
    public func probeWrite(at date: Date) async throws(DeskpoolError) {
        try await write { db in
            try db.execute(sql: "INSERT INTO writeProbe (id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                           arguments: [date.timeIntervalSince1970])
        }
        if let path, let free = Self.freeBytes(at: path), free < Self.minimumFreeBytes {
            throw DeskpoolError(.storeFailed, "the store's file system has \(free >> 10) KiB free", retryAfterSeconds: 5)
        }
    }

    static func freeBytes(at path: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }
}
