import ArgumentParser
import DeskpoolCore

/// `deskpool local logoff`: ends a session without HTTP.
struct LocalLogoffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logoff", abstract: "End the session on a desktop with its pool's logoff action (floating: refresh; dedicated: keep, or refresh).")
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The desktop id.") var desktop: String

    func run() async throws {
        let context = try await CommandContext.open(options)
        let d = try await context.broker().sessions.logoff(desktop: desktop, by: adminActor())
        print("\(d.name) \(d.state.rawValue)")
    }
}
