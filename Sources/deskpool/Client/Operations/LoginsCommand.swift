import ArgumentParser
import DeskpoolClient
import DeskpoolCore

/// `deskpool logins ...`: the login throttle's locks, and an admin's unlock.
struct LoginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logins",
        abstract: "List user names and addresses held back after failed logins, and unlock them (admin).",
        subcommands: [List.self, Unlock.self]
    )

    struct List: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "List the user names (per client address) and addresses that are backed off or locked out."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions

        func run(_ api: APIClient) async throws {
            if output.json { return printJSON(try await api.rawJSON(.loginLocks)) }
            var table = TextTable([.init("USER"), .init("ADDRESS"), .init("FAILURES", .right), .init("STATE"), .init("UNTIL")])
            for lock in try await api.loginLocks() {
                table.append([lock.user ?? "(any)", lock.address, "\(lock.failures)", lock.locked ? "locked" : "backoff", Display.time(lock.until)])
            }
            print(table.render(), terminator: "")
        }
    }

    struct Unlock: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Let a user (at one address, or everywhere) or an address log in again.",
            discussion: "With --user alone, the user's records at every address go; with --address alone, the address's own lock and every user's at it. The unlock is audited."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "The user name.") var user: String?
        @Option(help: "The client address (as `deskpool logins list` shows it).") var address: String?

        func validate() throws {
            guard user != nil || address != nil else { throw ValidationError("name --user, --address or both") }
        }

        func run(_ api: APIClient) async throws {
            let result = try await api.unlockLogins(user: user, address: address)
            if output.json { return printJSON(try PrettyJSON.encode(result)) }
            print("\(result.cleared) record\(result.cleared == 1 ? "" : "s") cleared")
        }
    }
}
