import ArgumentParser

/// `deskpool sessions ...`: desktops in a session, and forced logoff.
struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List sessions and log users off (admin; --mine for your own).",
        subcommands: [List.self, Logoff.self]
    )
}
