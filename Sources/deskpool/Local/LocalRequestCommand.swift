import ArgumentParser
import DeskpoolCore
import Foundation

/// `deskpool local request` (with `local logoff`): the session flow without HTTP, for tests
/// and recovery.
struct LocalRequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "request", abstract: "Ask for a desktop of a pool on behalf of a user.")
    @OptionGroup var options: ConfigOptions
    @Option(help: "The user.") var user: String
    @Option(help: "A group of the user (repeatable).") var group: [String] = []
    @Option(help: "The pool.") var pool: String
    @Flag(help: "Another desktop besides the one the user holds (up to the pool's maxPerUser).") var another = false

    func run() async throws {
        let context = try await CommandContext.open(options)
        // A reserved desktop goes where the running broker would put it (`Placement`).
        switch try await context.broker().sessions.request(.init(user: user, groups: group), pool: pool, another: another) {
        case .assigned(let d): print("assigned \(d.name) \(d.id)")
        case .preparing(let d, let seconds): print("preparing \(d.name) \(d.id) ~\(seconds)s")
        case .exhausted:
            print("exhausted")
            throw ExitCode(3)
        }
    }
}
