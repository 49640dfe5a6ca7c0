import ArgumentParser
import DeskpoolClient

/// `deskpool whoami`: the saved session's user, groups and role, as the broker sees them.
struct WhoamiCommand: APICommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami",
        abstract: "Show who the saved session belongs to: user, groups, admin or not, and until when."
    )

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    func run(_ api: APIClient) async throws {
        if output.json { return printJSON(try await api.rawJSON(.me)) }
        let me = try await api.me()
        print(Display.fields([
            ("user", me.user),
            ("server", api.server),
            ("admin", me.admin ? "yes" : "no"),
            ("groups", Display.list(me.groups)),
            ("session until", Display.time(me.expiresAt)),
        ]), terminator: "")
    }
}
