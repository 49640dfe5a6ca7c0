import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension SessionsCommand {
    struct Logoff: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "End the session on a desktop with its pool's logoff action.",
            discussion: "Admins may end anyone's session (forced logoff); with --mine, your own. Floating pools refresh the desktop; dedicated ones keep, shut down or refresh it as the pool says."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The desktop's id.") var id: String
        @Flag(help: "Log yourself off (DELETE /api/v1/sessions/ID) rather than as an admin.") var mine = false

        func run(_ api: APIClient) async throws {
            let desktop = mine ? try await api.userLogoff(desktop: id) : try await api.forceLogoff(desktop: id)
            if output.json { return printJSON(try PrettyJSON.encode(desktop)) }
            print("\(desktop.name) (\(desktop.id)): logged off, now \(desktop.state.rawValue)")
        }
    }
}
