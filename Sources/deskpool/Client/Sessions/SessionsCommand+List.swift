import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension SessionsCommand {
    struct List: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "List desktops in a session (assigned, connected or disconnected).",
            discussion: "Admins see every session, optionally of one pool or user; with --mine, anyone sees their own."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only this pool.") var pool: String?
        @Option(help: "Only this user.") var user: String?
        @Flag(help: "Your own sessions (GET /api/v1/sessions).") var mine = false

        func validate() throws {
            if mine && (pool != nil || user != nil) { throw ValidationError("--mine takes no --pool or --user") }
        }

        func run(_ api: APIClient) async throws {
            let endpoint: Endpoint = mine ? .userSessions : .sessions(pool: pool, user: user)
            if output.json { return printJSON(try await api.rawJSON(endpoint)) }
            let sessions = mine ? try await api.userSessions() : try await api.sessions(pool: pool, user: user)
            var table = TextTable("DESKTOP", "POOL", "USER", "STATE", "SINCE", "CLIENT", "HOST", "ID")
            for d in sessions {
                table.append([d.name, d.pool, Display.text(d.user), d.state.rawValue, Display.time(d.sessionStartedAt),
                              Display.text(d.client), d.host, d.id])
            }
            print(table.render(), terminator: "")
        }
    }
}
