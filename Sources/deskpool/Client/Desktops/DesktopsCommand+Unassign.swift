import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension DesktopsCommand {
    struct Unassign: APICommand {
        static let configuration = CommandConfiguration(abstract: "Take a desktop back from its user (it is refreshed for the pool).")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The desktop's id.") var id: String

        func run(_ api: APIClient) async throws { try DesktopsCommand.done(try await api.unassignDesktop(id), json: output.json) }
    }
}
