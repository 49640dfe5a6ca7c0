import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension DesktopsCommand {
    struct Show: APICommand {
        static let configuration = CommandConfiguration(abstract: "Show one desktop.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The desktop's id.") var id: String

        func run(_ api: APIClient) async throws {
            if output.json { return printJSON(try await api.rawJSON(.desktop(id))) }
            print(DesktopsCommand.fields(try await api.desktop(id)), terminator: "")
        }
    }
}
