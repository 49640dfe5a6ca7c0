import ArgumentParser
import DeskpoolCore
import Foundation

/// `deskpool local console`: a fresh console ticket and the `.vv` file for a user's desktop (what
/// the portal's Connect button will return).
struct LocalConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console", abstract: "Issue a console ticket for a user's desktop and write its .vv file.",
        discussion: "The file holds a one-time password valid for the pool's console.ticketSeconds; remote-viewer deletes it after reading. Without --output it goes to standard output.")
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The desktop id.") var desktop: String
    @Option(help: "The user who holds the desktop.") var user: String
    @Option(help: "The client's IP address (picks the gateway address it can reach).") var client: String?
    @Option(help: "Write the .vv file here (mode 0600) instead of standard output.") var output: String?

    func run() async throws {
        let context = try await CommandContext.open(options)
        let grant = try await context.broker().consoles.open(desktop: desktop, for: user, clientAddress: client)
        guard let output else {
            print(grant.file.text, terminator: "")
            return
        }
        guard FileManager.default.createFile(atPath: output, contents: Data(grant.file.text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(output)")
        }
        FileHandle.standardError.write(Data("\(grant.desktop.name): ticket valid until \(ISO8601DateFormatter().string(from: grant.expires))\n".utf8))
    }
}
