public import DeskpoolCore
import Foundation
public import Libvirt

/// Looks at a hypervisor host through libvirt for `deskpool doctor`, and sets up what the
/// broker needs there (`--fix`).
public struct HostInspector: Sendable {
    public let configuration: HostConfiguration

    public init(configuration: HostConfiguration) {
        self.configuration = configuration
    }

    /// Connects to the configured URI; the connection is `nil` when libvirt did not answer.
    public func observeLibvirt() async -> (DoctorRules.LibvirtObservation, Connection?) {
        do {
            let connection = try await Connection.open(configuration.uri)
            let info = try await connection.hostInfo()
            let version = try await connection.libvirtVersion()
            let text = "\(version / 1_000_000).\(version / 1000 % 1000).\(version % 1000)"
            return (.reachable(uri: configuration.uri, version: text, cpus: info.cpus, memoryBytes: info.memoryBytes), connection)
        } catch {
            return (.unreachable(uri: configuration.uri, message: error.message), nil)
        }
    }

    /// The configured storage pool: missing, stopped, or running with its directory.
    public func observeStoragePool(_ connection: Connection) async -> DoctorRules.StoragePoolObservation {
        let name = configuration.storagePool
        do {
            let pool = try await connection.storagePool(named: name)
            guard try await pool.isActive() else { return .inactive(name: name) }
            let path = try LibvirtXML.values("/pool/target/path", in: try await pool.xml()).first ?? ""
            let info = try await pool.info()
            let writable = !path.isEmpty && access(path, W_OK) == 0
            return .active(name: name, path: path, writable: writable, availableBytes: info.availableBytes)
        } catch let error as LibvirtError where error.code == .noStoragePool {
            return .missing(name: name)
        } catch {
            return .error(name: name, message: "\(error)")
        }
    }

    /// Creates the storage pool as a dir pool at `storagePath` if it is missing, starts it,
    /// and marks it autostart. Returns what it did, for the admin.
    public func ensureStoragePool(_ connection: Connection) async throws(LibvirtError) -> [String] {
        let name = configuration.storagePool
        var done: [String] = []
        let pool: StoragePool
        do throws(LibvirtError) {
            pool = try await connection.storagePool(named: name)
        } catch where error.code == .noStoragePool {
            pool = try await connection.defineStoragePool(xml: LibvirtXML.dirPool(name: name, path: configuration.storagePath))
            try await pool.build()
            done.append("defined dir storage pool '\(name)' at \(configuration.storagePath)")
        }
        if try await !pool.isActive() {
            try await pool.start()
            done.append("started storage pool '\(name)'")
        }
        try await pool.setAutostart(true)
        return done
    }
}
