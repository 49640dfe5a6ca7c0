import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension DesktopsCommand {
    struct Assign: APICommand {
        static let configuration = CommandConfiguration(abstract: "Give a ready desktop of a dedicated pool to a user.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The desktop's id.") var id: String
        @Option(help: "The user who gets it.") var user: String

        func run(_ api: APIClient) async throws { try DesktopsCommand.done(try await api.assignDesktop(id, to: user), json: output.json) }
    }
}
