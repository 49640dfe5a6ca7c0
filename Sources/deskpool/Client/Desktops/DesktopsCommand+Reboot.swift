import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension DesktopsCommand {
    struct Reboot: APICommand {
        static let configuration = CommandConfiguration(abstract: "Reboot a desktop (its session, if any, stays).")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The desktop's id.") var id: String

        func run(_ api: APIClient) async throws { try DesktopsCommand.done(try await api.rebootDesktop(id), json: output.json) }
    }
}
