import ArgumentParser
import DeskpoolCore
import DeskpoolLibvirt
import Foundation

/// `deskpool doctor`: can this host run Deskpool? Each check prints a verdict and a hint.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that this host can run Deskpool, and say what to fix.",
        discussion: "Exits 1 when a required check fails. With --fix, creates the storage pool and installs the PAM service file when they are missing, and makes the state directory and its store and key files the broker's own (0700/0600)."
    )

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Create what is missing and safe to create: the storage pool (dir pool) and /etc/pam.d/<service>; set the state files' modes.")
    var fix = false

    func run() async throws {
        let configuration: DeskpoolConfiguration
        do {
            let (loaded, source) = try options.load()
            configuration = loaded
            print("Configuration: \(source)")
        } catch {
            print("[FAIL] configuration  \(error)")
            throw ExitCode(2)
        }
        if fix { try await applyFixes(configuration) }
        let report = await DoctorProbe(configuration: configuration).run()
        print(report.rendered())
        if !report.isHealthy { throw ExitCode(report.exitStatus) }
    }

    private func applyFixes(_ configuration: DeskpoolConfiguration) async throws {
        let service = configuration.authentication.pamService
        let servicePath = "/etc/pam.d/\(service)"
        if PAMServiceFile.searchDirectories.allSatisfy({ !FileManager.default.fileExists(atPath: "\($0)/\(service)") }) {
            do {
                try PAMServiceFile.contents.write(toFile: servicePath, atomically: true, encoding: .utf8)
                print("fix: installed \(servicePath) (pam_unix)")
            } catch {
                print("fix: cannot write \(servicePath): \(error.localizedDescription)")
            }
        }
        for host in configuration.hosts { await fixStoragePool(host) }
        let state = CommandContext.stateDirectory(configuration)
        if !state.problems().isEmpty {
            state.fix()
            print("fix: set the modes of \(state.path) (\(state.holdsStoragePool ? "0711" : "0700")) and its store and key files (0600)")
        }
    }

    private func fixStoragePool(_ host: HostConfiguration) async {
        let inspector = HostInspector(configuration: host)
        let (_, connection) = await inspector.observeLibvirt()
        guard let connection else {
            print("fix: libvirt does not answer at \(host.uri); cannot create the storage pool of host \(host.name)")
            return
        }
        do {
            // 0711: qemu (its own user) reaches the images; other users cannot list them.
            try FileManager.default.createDirectory(atPath: host.storagePath, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o711])
            for line in try await inspector.ensureStoragePool(connection) { print("fix: \(line)") }
        } catch {
            print("fix: cannot set up storage pool '\(host.storagePool)' of host \(host.name): \(error)")
        }
        await connection.close()
    }
}
