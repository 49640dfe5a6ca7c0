import ArgumentParser
import Foundation

/// `deskpool local ...`: the admin commands that work on this host's store (and hosts)
/// directly, without the HTTP API; for bootstrapping and recovery.
struct LocalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "local",
        abstract: "Offline admin on this host's store, for bootstrapping and recovery; the broker need not run.",
        discussion: """
            These commands open the broker's store (and, where they need to, its hypervisor hosts) \
            directly, as root on the broker's host. Everywhere else, and whenever the broker runs, use the \
            API commands (deskpool login, then deskpool pools, desktops, templates, ...).
            """,
        subcommands: [LocalTemplateCommand.self, LocalPoolCommand.self, LocalDesktopsCommand.self, LocalRequestCommand.self,
                      LocalConsoleCommand.self, LocalLogoffCommand.self, LocalPolicyCommand.self, LocalAuditCommand.self,
                      LocalStoreCommand.self]
    )
}

/// Who runs an admin command, for the audit log.
func adminActor() -> String {
    "admin:\(ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "root")"
}
