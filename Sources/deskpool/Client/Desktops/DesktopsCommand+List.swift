import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension DesktopsCommand {
    struct List: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "List desktops, optionally of one pool, state, user or host.",
            discussion: "SINCE is the time since the desktop's last change of state."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only this pool.") var pool: String?
        @Option(help: "Only this state.", completion: .list(DesktopState.allCases.map(\.rawValue)), transform: DesktopsCommand.state)
        var state: DesktopState?
        @Option(help: "Only desktops held by this user.") var user: String?
        @Option(help: "Only this host.") var host: String?

        func run(_ api: APIClient) async throws {
            let filter = DesktopFilter(pool: pool, state: state, user: user, host: host)
            if output.json { return printJSON(try await api.rawJSON(.desktops(filter))) }
            print(DesktopsCommand.table(try await api.desktops(filter)).render(), terminator: "")
        }
    }
}
