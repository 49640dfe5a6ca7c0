import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension DesktopsCommand {
    struct Refresh: APICommand {
        static let configuration = CommandConfiguration(abstract: "Re-clone a desktop from its pool's current version; a session on it ends.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The desktop's id.") var id: String

        func run(_ api: APIClient) async throws { try DesktopsCommand.done(try await api.refreshDesktop(id), json: output.json) }
    }
}
