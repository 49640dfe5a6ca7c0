import ArgumentParser
import DeskpoolClient
import DeskpoolCore

/// `deskpool hosts`: the hypervisor hosts, whether the broker reaches them, and their room.
struct HostsCommand: APICommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts",
        abstract: "List the hypervisor hosts: reachable or not, free memory and disk, desktops (admin)."
    )
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    func run(_ api: APIClient) async throws {
        if output.json { return printJSON(try await api.rawJSON(.hosts)) }
        var table = TextTable([.init("NAME"), .init("URI"), .init("CONNECTED"), .init("FREE-MEMORY", .right), .init("FREE-DISK", .right),
                               .init("DESKTOPS", .right), .init("MAX-OPS", .right), .init("ERROR")])
        for h in try await api.hosts() {
            table.append([h.name, h.uri, h.connected ? "yes" : "no", Display.mebibytes(h.freeMemoryMiB), Display.mebibytes(h.freeDiskMiB),
                          "\(h.desktops)", "\(h.maxConcurrentOperations)", h.error ?? ""])
        }
        print(table.render(), terminator: "")
    }
}
