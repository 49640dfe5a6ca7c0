import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import Foundation

/// Gathers what `deskpool doctor` looks at and turns it into a report with `DoctorRules`.
struct DoctorProbe {
    let configuration: DeskpoolConfiguration

    func run() async -> DoctorReport {
        var checks: [DoctorCheck] = []
        for host in configuration.hosts {
            checks += await hostChecks(host, named: configuration.hosts.count > 1)
        }
        let service = configuration.authentication.pamService
        let serviceFile = PAMServiceFile.searchDirectories
            .map { "\($0)/\(service)" }
            .first { FileManager.default.fileExists(atPath: $0) }
        return DoctorReport(checks: checks + [
            await storeCheck(),
            DoctorRules.pamService(service, foundAt: serviceFile, searched: PAMServiceFile.searchDirectories),
            DoctorRules.memory(availableBytes: HostFacts.availableMemoryBytes()),
            DoctorRules.disk("state", path: configuration.stateDirectory, availableBytes: HostFacts.availableDiskBytes(at: configuration.stateDirectory)),
            DoctorRules.statePermissions(path: configuration.stateDirectory,
                                         exists: FileManager.default.fileExists(atPath: configuration.stateDirectory),
                                         problems: CommandContext.stateDirectory(configuration).problems()),
        ])
    }

    /// The configured store: reached (without changing its schema), and how.
    private func storeCheck() async -> DoctorCheck {
        guard let url = configuration.store.url else {
            return DoctorRules.store(.sqlite(path: CommandContext.storePath(configuration)))
        }
        let server = URLComponents(string: url).map { "\($0.host ?? "?"):\($0.port ?? 5432)/\($0.path.drop { $0 == "/" })" } ?? "?"
        do {
            let settings = try PostgresStore.Settings.parse(url: url, password: try configuration.store.password())
            let store = try await PostgresStore(settings, migrate: false)
            defer { store.close() }
            let migrations = try await store.appliedMigrations()
            let loopback = ["127.0.0.1", "::1", "localhost"].contains(settings.host)
            return DoctorRules.store(.postgres(server: server, encrypted: settings.tls != .disable, loopback: loopback, migrations: migrations))
        } catch let error as DeskpoolError {
            return DoctorRules.store(.unreachable(server: server, message: error.message))
        } catch {
            return DoctorRules.store(.unreachable(server: server, message: "\(error)"))
        }
    }

    /// The checks of one hypervisor host; with several hosts, each check names its host.
    private func hostChecks(_ host: HostConfiguration, named: Bool) async -> [DoctorCheck] {
        let inspector = HostInspector(configuration: host)
        let (libvirt, connection) = await inspector.observeLibvirt()
        var pool = DoctorRules.StoragePoolObservation.notChecked
        if let connection {
            pool = await inspector.observeStoragePool(connection)
            await connection.close()
        }
        let checks = [
            DoctorRules.libvirt(libvirt),
            DoctorRules.acceleration(HostFacts.virtualization(), setting: host.acceleration),
            DoctorRules.storagePool(pool, path: host.storagePath),
            DoctorRules.disk("images", path: host.storagePath, availableBytes: HostFacts.availableDiskBytes(at: host.storagePath)),
        ]
        guard named else { return checks }
        return checks.map { DoctorCheck(name: "\($0.name)[\(host.name)]", verdict: $0.verdict, required: $0.required, detail: $0.detail, hint: $0.hint) }
    }
}
