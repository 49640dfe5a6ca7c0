import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension PoolsCommand {
    struct List: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "List pools with their sizes and desktops by state.",
            discussion: "IN-USE counts desktops assigned to users (connected or not); PREPARING those provisioning, starting or refreshing. With --mine, the pools you may use (any user)."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Flag(help: "The pools you are entitled to (GET /api/v1/pools), not the admin view.") var mine = false

        func run(_ api: APIClient) async throws {
            if mine {
                if output.json { return printJSON(try await api.rawJSON(.userPools)) }
                var table = TextTable([.init("NAME"), .init("ASSIGNMENT"), .init("AVAILABLE", .right), .init("ESTIMATE", .right), .init("YOURS")])
                for pool in try await api.userPools() {
                    table.append([pool.name, pool.assignment.rawValue, "\(pool.available)", "\(pool.estimateSeconds) s",
                                  Display.list(pool.desktops.map { "\($0.name) (\($0.state.rawValue))" })])
                }
                return print(table.render(), terminator: "")
            }
            if output.json { return printJSON(try await api.rawJSON(.pools)) }
            print(PoolsCommand.table(try await api.pools()).render(), terminator: "")
        }
    }
}
