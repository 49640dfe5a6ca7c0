import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension TemplatesCommand {
    struct List: APICommand {
        static let configuration = CommandConfiguration(abstract: "List templates with their sizes and newest published version.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions

        func run(_ api: APIClient) async throws {
            if output.json { return printJSON(try await api.rawJSON(.templates)) }
            var table = TextTable([.init("NAME"), .init("VCPUS", .right), .init("MEMORY", .right), .init("MACHINE"),
                                   .init("BOOT", .right), .init("VERSIONS", .right), .init("LATEST", .right)])
            for t in try await api.templates() {
                table.append([t.name, "\(t.vcpus)", Display.mebibytes(t.memoryMiB), t.machine, "\(t.bootTimeoutSeconds) s",
                              "\(t.versions.count)", TemplatesCommand.latest(t)])
            }
            print(table.render(), terminator: "")
        }
    }
}
