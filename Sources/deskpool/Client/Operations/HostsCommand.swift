import ArgumentParser
import DeskpoolClient
import DeskpoolCore

/// `deskpool hosts`: the hypervisor hosts, whether the broker reaches them, and their room.
struct HostsCommand: APICommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts",
        abstract: "List the hypervisor hosts: reachable or not, free memory and disk, desktops, and the replica that drives each (admin)."
    )
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    func run(_ api: APIClient) async throws {
        if output.json { return printJSON(try await api.rawJSON(.hosts)) }
        let replicas = try await api.replicas()
        var columns: [TextTable.Column] = [.init("NAME"), .init("URI"), .init("CONNECTED"), .init("FREE-MEMORY", .right), .init("FREE-DISK", .right),
                                           .init("DESKTOPS", .right), .init("MAX-OPS", .right)]
        let shared = replicas.replica != nil
        if shared { columns.append(.init("OWNER")) }
        columns.append(.init("ERROR"))
        var table = TextTable(columns)
        for h in try await api.hosts() {
            var row = [h.name, h.uri, h.connected ? "yes" : "no", Display.mebibytes(h.freeMemoryMiB), Display.mebibytes(h.freeDiskMiB),
                       "\(h.desktops)", "\(h.maxConcurrentOperations)"]
            if shared { row.append(h.owner ?? "none (taken over soon)") }
            row.append(h.error ?? "")
            table.append(row)
        }
        print(table.render(), terminator: "")
        guard let answering = replicas.replica else { return }
        // Several replicas on one store: who runs the pools and rollouts, and who is alive.
        let owner = { (work: String) in replicas.work.first { $0.work == work }?.owner ?? "none (taken over soon)" }
        print("")
        print("pools: \(owner("pools"))    rollouts: \(owner("rollouts"))")
        print("replicas alive: \(replicas.replicas.joined(separator: ", ")) (this answer from \(answering))")
    }
}
