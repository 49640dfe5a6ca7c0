import Foundation
import DeskpoolLibvirt
public import Libvirt

/// A place for one test's libvirt objects: every domain, storage pool and volume it makes is
/// named with a unique prefix, and `LibvirtSandbox.run` removes them all afterwards, also
/// when the test fails or throws half-way.
public final class LibvirtSandbox: Sendable {
    public let connection: Connection
    /// e.g. `dptest-3f2a9c01-`; every object of this sandbox starts with it.
    public let prefix: String
    /// A directory for this sandbox's dir pool, readable by qemu.
    public let directory: String

    init(connection: Connection) throws {
        self.connection = connection
        let token = String(UInt32.random(in: .min ... .max), radix: 16)
        self.prefix = "dptest-\(token)-"
        self.directory = NSTemporaryDirectory() + "deskpool-\(prefix)pool"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
    }

    /// A name in this sandbox.
    public func name(_ suffix: String) -> String { prefix + suffix }

    /// Opens `uri`, runs `body` with a fresh sandbox, then removes everything the sandbox
    /// holds and closes the connection. Rethrows `body`'s error after cleaning up.
    public static func run<T: Sendable>(
        uri: String, _ body: (LibvirtSandbox) async throws -> T
    ) async throws -> T {
        let connection = try await Connection.open(uri)
        let sandbox = try LibvirtSandbox(connection: connection)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(sandbox))
        } catch {
            result = .failure(error)
        }
        await sandbox.cleanUp()
        await connection.close()
        return try result.get()
    }

    /// Defines, builds and starts a dir pool in `directory`.
    public func makeDirPool(_ suffix: String = "pool") async throws -> StoragePool {
        let pool = try await connection.defineStoragePool(xml: LibvirtXML.dirPool(name: name(suffix), path: directory))
        try await pool.build()
        try await pool.start()
        return pool
    }

    /// Names of this sandbox's domains and pools that still exist.
    public func leftovers() async throws -> [String] {
        let domains = try await connection.listDomains().map(\.domain.name)
        let pools = try await connection.listStoragePools().map(\.name)
        return (domains + pools).filter { $0.hasPrefix(prefix) }
    }

    /// Destroys and undefines this sandbox's domains, deletes its pools' volumes and the
    /// pools, and removes its directory. Errors are ignored: this is best effort by design.
    public func cleanUp() async {
        if let domains = try? await connection.listDomains() {
            for listing in domains where listing.domain.name.hasPrefix(prefix) {
                try? await listing.domain.destroy()
                try? await listing.domain.undefine([.managedSave, .snapshotsMetadata, .nvram])
            }
        }
        if let pools = try? await connection.listStoragePools() {
            for pool in pools where pool.name.hasPrefix(prefix) {
                try? await pool.refresh()
                // Clones before their bases: delete volumes with a backing store first.
                let volumes = (try? await pool.volumes()) ?? []
                var withBacking: [StorageVolume] = []
                var others: [StorageVolume] = []
                for volume in volumes {
                    if let xml = try? await volume.xml(), xml.contains("<backingStore>") {
                        withBacking.append(volume)
                    } else {
                        others.append(volume)
                    }
                }
                for volume in withBacking + others { try? await volume.delete() }
                try? await pool.stop()
                try? await pool.undefine()
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
