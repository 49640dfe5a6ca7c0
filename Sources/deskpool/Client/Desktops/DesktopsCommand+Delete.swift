import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension DesktopsCommand {
    struct Delete: APICommand {
        static let configuration = CommandConfiguration(abstract: "Delete a desktop (the pool makes a new one if it needs one).")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The desktop's id.") var id: String

        func run(_ api: APIClient) async throws { try DesktopsCommand.done(try await api.deleteDesktop(id), json: output.json) }
    }
}
