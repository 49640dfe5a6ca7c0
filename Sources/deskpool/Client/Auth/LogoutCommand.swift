import ArgumentParser
import DeskpoolClient

/// `deskpool logout`: ends the saved session and forgets its token.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "End the saved session on the broker and forget its token.",
        discussion: "The server's URL stays saved. A session the broker already ended (expired, broker restarted) is forgotten all the same."
    )

    func run() async throws {
        try await reportingErrors {
            guard let settings = try ClientSettings.load(), let token = settings.token else {
                print("not logged in")
                return
            }
            let api = try APIClient(server: settings.server, token: token)
            do {
                try await api.logout()
            } catch let error as ClientError where error.code == "unauthenticated" {
                // Already over on the broker's side.
            } catch let error as ServerUnreachable {
                try settings.loggedOut().save()
                throw CLIError("\(error.reason); the token is forgotten here but the session may still be open on \(settings.server) until it expires")
            }
            try settings.loggedOut().save()
            print("logged out of \(settings.server)")
        }
    }
}
