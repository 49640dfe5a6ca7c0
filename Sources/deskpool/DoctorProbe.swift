import DeskpoolCore
import DeskpoolLibvirt
import Foundation

/// Gathers what `deskpool doctor` looks at and turns it into a report with `DoctorRules`.
struct DoctorProbe {
    let configuration: DeskpoolConfiguration

    func run() async -> DoctorReport {
        let hypervisor = configuration.hypervisor
        let inspector = HostInspector(configuration: hypervisor)
        let (libvirt, connection) = await inspector.observeLibvirt()
        var pool = DoctorRules.StoragePoolObservation.notChecked
        if let connection {
            pool = await inspector.observeStoragePool(connection)
            await connection.close()
        }
        let service = configuration.authentication.pamService
        let serviceFile = PAMServiceFile.searchDirectories
            .map { "\($0)/\(service)" }
            .first { FileManager.default.fileExists(atPath: $0) }
        return DoctorReport(checks: [
            DoctorRules.libvirt(libvirt),
            DoctorRules.acceleration(HostFacts.virtualization(), setting: hypervisor.acceleration),
            DoctorRules.storagePool(pool, path: hypervisor.storagePath),
            DoctorRules.pamService(service, foundAt: serviceFile, searched: PAMServiceFile.searchDirectories),
            DoctorRules.memory(availableBytes: HostFacts.availableMemoryBytes()),
            DoctorRules.disk("images", path: hypervisor.storagePath, availableBytes: HostFacts.availableDiskBytes(at: hypervisor.storagePath)),
            DoctorRules.disk("state", path: configuration.stateDirectory, availableBytes: HostFacts.availableDiskBytes(at: configuration.stateDirectory)),
        ])
    }
}
