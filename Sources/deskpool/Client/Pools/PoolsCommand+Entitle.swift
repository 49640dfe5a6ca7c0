import ArgumentParser
import DeskpoolClient
import DeskpoolCore
import Foundation

extension PoolsCommand {
    struct Entitle: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Set who may use a pool: its users and groups.",
            discussion: "Each list given replaces the pool's list; a list not given stays. --users '' empties the users."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The pool's name.") var name: String
        @Option(help: ArgumentHelp("Users, comma-separated.", valueName: "a,b")) var users: String?
        @Option(help: ArgumentHelp("Groups, comma-separated.", valueName: "g,h")) var groups: String?

        func validate() throws {
            guard users != nil || groups != nil else { throw ValidationError("give --users, --groups or both") }
        }

        static func names(_ list: String) -> [String] {
            list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }

        func run(_ api: APIClient) async throws {
            var current: PoolSpec?
            if users == nil || groups == nil { current = try await api.pool(name).spec }
            let pool = try await api.setEntitlements(pool: name, users: users.map(Self.names) ?? current?.users ?? [],
                                                     groups: groups.map(Self.names) ?? current?.groups ?? [])
            if output.json { return printJSON(try PrettyJSON.encode(pool)) }
            print("pool \(name): users \(Display.list(pool.spec.users)); groups \(Display.list(pool.spec.groups))")
        }
    }
}
