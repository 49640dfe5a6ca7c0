import ArgumentParser
import DeskpoolCore

/// `deskpool local pool ...`: pool definitions and their state, in the store directly.
struct LocalPoolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool",
        abstract: "Create or change pools from pool files, and list them.",
        subcommands: [Apply.self, List.self]
    )

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or change a pool from a YAML pool file (see docs/broker.md).")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "The pool file.", completion: .file(extensions: ["yaml", "yml"])) var file: String

        func run() async throws {
            let spec = try PoolSpec.load(file: file)
            let context = try await CommandContext.open(options, hosts: .none)
            let admin = Administration(store: context.store, hypervisors: [], hostNames: context.configuration.hosts.map(\.name))
            let stored = try await admin.applyPool(spec, actor: adminActor())
            print("pool \(stored.name): generation \(stored.generation), \(stored.assignment.rawValue), min \(stored.min), max \(stored.max), spare \(stored.sparesText)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pools with their desktops by state.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let context = try await CommandContext.open(options, hosts: .none)
            let desktops = try await context.store.desktops(pool: nil)
            for pool in try await context.store.pools() {
                let states = Dictionary(grouping: desktops.filter { $0.pool == pool.name }, by: \.state)
                    .map { "\($0.key.rawValue)=\($0.value.count)" }.sorted().joined(separator: " ")
                print("\(pool.name)\t\(pool.template)@\(pool.version)\t\(pool.assignment.rawValue)\tmin \(pool.min) max \(pool.max) spare \(pool.sparesText)\t\(states)")
            }
        }
    }
}
