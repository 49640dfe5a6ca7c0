public import DeskpoolCore
public import Foundation
import GRDB

extension SQLiteStore {
    public func probeWrite(at date: Date) async throws(DeskpoolError) {
        try await write { db in
            try db.execute(sql: "INSERT INTO writeProbe (id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                           arguments: [date.timeIntervalSince1970])
        }
    }
}
