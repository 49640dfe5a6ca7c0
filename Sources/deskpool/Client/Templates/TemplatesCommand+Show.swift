import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension TemplatesCommand {
    struct Show: APICommand {
        static let configuration = CommandConfiguration(abstract: "Show a template and its versions.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The template's name.") var name: String

        func run(_ api: APIClient) async throws {
            if output.json { return printJSON(try await api.rawJSON(.template(name))) }
            let t = try await api.template(name)
            print(Display.fields([
                ("name", t.name), ("vcpus", "\(t.vcpus)"), ("memory", Display.mebibytes(t.memoryMiB)), ("machine", t.machine),
                ("boot timeout", "\(t.bootTimeoutSeconds) s"), ("latest", TemplatesCommand.latest(t)),
            ]))
            var table = TextTable([.init("VERSION", .right), .init("STATUS"), .init("CREATED"), .init("BY"), .init("NOTE")])
            for v in t.versions.sorted(by: { $0.number > $1.number }) {
                table.append(["\(v.number)", v.published ? "published" : "importing", Display.time(v.createdAt), v.createdBy, v.note])
            }
            print(table.render(), terminator: "")
        }
    }
}
