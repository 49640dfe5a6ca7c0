import ArgumentParser
import DeskpoolClient
import DeskpoolCore
import Foundation

/// `deskpool login`: logs in to the broker and saves the session for the other commands.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in to the broker and remember the session for the other commands.",
        discussion: """
            Saves the broker's URL and the session token in $DESKPOOL_CLIENT_CONFIG, else \
            ~/.config/deskpool/client.json (mode 0600). The password is asked for without echo when \
            standard input is a terminal; scripts give it with --password-stdin. When the broker's PAM \
            stack asks more (a one-time code, a new password for an expired one), each prompt is asked \
            in turn (without echo for secrets), or read as the next line of standard input with \
            --password-stdin; PAM's messages are shown on standard error. The session ends at \
            deskpool logout, after the broker's idle or maximum session time.
            """
    )

    @Option(help: ArgumentHelp("The broker's URL.", valueName: "url"))
    var server: String = ClientSettings.defaultServer

    @Option(help: "Your user name on the broker's host (default: $USER).")
    var user: String?

    @Flag(help: "Read the password from the first line of standard input.")
    var passwordStdin = false

    func run() async throws {
        try await reportingErrors {
            let api = try APIClient(server: server)
            guard let user = user ?? ProcessInfo.processInfo.environment["USER"], !user.isEmpty else {
                throw CLIError("no user name", hint: "give --user NAME")
            }
            let password = try Password.obtain(fromStdin: passwordStdin, user: user, server: api.server)
            let login = try await Self.logIn(api, user: user, password: password, prompts: LoginPrompts(fromStdin: passwordStdin))
            try ClientSettings(server: api.server, user: login.user, token: login.token, admin: login.admin, expiresAt: login.expiresAt).save()
            print("logged in to \(api.server) as \(login.user)\(login.admin ? " (admin)" : ""), session until \(Display.time(login.expiresAt))")
        }
    }

    /// Logs in, answering what PAM asks beyond the password with `prompts`; a refusal is
    /// reported without the "log in first" hint other commands give.
    static func logIn(_ api: APIClient, user: String, password: String, prompts: LoginPrompts) async throws -> LoginResponse {
        do {
            guard case .loggedIn(let login) = try await prompts.complete(try await api.beginLogin(user: user, password: password), api: api) else {
                throw CLIError("the broker did not answer the login with a session")
            }
            return login
        } catch let error as ClientError where error.code == "unauthenticated" {
            throw CLIError("\(error.code): \(error.message)")
        }
    }
}
