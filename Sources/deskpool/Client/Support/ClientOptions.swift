import ArgumentParser
import DeskpoolClient

/// The `--server` option of the API commands.
struct ClientOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The broker's URL (default: the one you logged in to, else \(ClientSettings.defaultServer)).", valueName: "url"))
    var server: String?

    /// An API client for the server, with the saved login's token when it is for this server.
    /// Without a saved login for it, commands that need one fail with advice.
    func open(requireLogin: Bool = true) throws -> APIClient {
        let saved = try ClientSettings.load()
        let server = try APIClient.normalize(server: server ?? saved?.server ?? ClientSettings.defaultServer)
        // A token goes only to the server it came from.
        let token = saved.flatMap { $0.server == server ? $0.token : nil }
        if requireLogin && token == nil {
            throw CLIError("not logged in to \(server)", hint: "deskpool login --server \(server) --user NAME")
        }
        return try APIClient(server: server, token: token)
    }
}

/// The `--json` flag of the commands that show something.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print the broker's JSON answer (pretty) instead of a table.")
    var json = false
}
