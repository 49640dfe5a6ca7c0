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
        let context = try await BrokerContext.open(options)
        let broker = context.sessions(consoles: try context.consoles(), placement: { pool in
            // The running broker places its own desktops; here, the first allowed host with room.
            for hypervisor in context.hypervisors where pool.hosts.isEmpty || pool.hosts.contains(hypervisor.host) {
                if (try? await hypervisor.capacity()) != nil { return hypervisor.host }
            }
            return nil
        })
        switch try await broker.request(.init(user: user, groups: group), pool: pool, another: another) {
        case .assigned(let d): print("assigned \(d.name) \(d.id)")
        case .preparing(let d, let seconds): print("preparing \(d.name) \(d.id) ~\(seconds)s")
        case .exhausted:
            print("exhausted")
            throw ExitCode(3)
        }
    }
}
