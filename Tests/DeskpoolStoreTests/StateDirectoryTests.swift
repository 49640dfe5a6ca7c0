import DeskpoolCore
import DeskpoolStore
import Foundation
import Testing

/// The state directory and the files in it are the broker's own: created so, and refused
/// at start when other users can read them.
@Suite("State directory")
struct StateDirectoryTests {
    func withTemporaryDirectory(_ body: (String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-state-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(directory)
    }

    func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test("a missing directory is made 0700; the store, its WAL and shared memory and the key are 0600, whatever the umask")
    func createdPrivate() async throws {
        try await withTemporaryDirectory { root in
            let state = root + "/state"
            let old = umask(0o022)
            defer { umask(old) }
            try StateDirectory(path: state).prepare()
            #expect(try mode(state) == 0o700)
            let store = try SQLiteStore(path: state + "/deskpool.sqlite")
            try await store.audit(AuditEntry(at: Date(), actor: "test", action: "test", subject: "s", result: "ok"))
            _ = try ConnectTokenKey.load(orCreateAt: state + "/console-token.key")
            for name in StateDirectory.secretFiles {
                let path = state + "/" + name
                #expect(FileManager.default.fileExists(atPath: path), "\(name) exists while the store is open")
                #expect(try mode(path) == 0o600, "\(name)")
            }
            #expect(StateDirectory(path: state).problems().isEmpty)
            withExtendedLifetime(store) {}
        }
    }

    @Test("a store or key readable by others, or an open directory, is refused with what to fix; fix() repairs it")
    func refusedWhenOpen() async throws {
        try await withTemporaryDirectory { state in
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            _ = FileManager.default.createFile(atPath: state + "/deskpool.sqlite", contents: Data(), attributes: [.posixPermissions: 0o644])
            _ = FileManager.default.createFile(atPath: state + "/console-token.key", contents: Data(count: 32), attributes: [.posixPermissions: 0o640])
            let directory = StateDirectory(path: state)
            let error = #expect(throws: DeskpoolError.self) { try directory.prepare() }
            #expect(error?.field == "stateDirectory")
            #expect(error?.message.contains("chmod 0700 \(state)") == true)
            #expect(error?.message.contains("chmod 0600 \(state)/deskpool.sqlite") == true)
            #expect(error?.message.contains("chmod 0600 \(state)/console-token.key") == true)
            directory.fix()
            #expect(directory.problems().isEmpty)
            try directory.prepare()
        }
    }

    @Test("a directory holding a storage pool may be 0711 (qemu reaches the images), not 0755")
    func storagePoolInside() async throws {
        try await withTemporaryDirectory { state in
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
            #expect(throws: DeskpoolError.self) { try StateDirectory(path: state).prepare() }
            try StateDirectory(path: state, storagePaths: [state + "/images"]).prepare()
            chmod(state, 0o755)
            #expect(throws: DeskpoolError.self) { try StateDirectory(path: state, storagePaths: [state + "/images"]).prepare() }
        }
    }
}
