import ArgumentParser

/// The `deskpool` command: the broker, its API client and its offline admin tools.
@main
struct Deskpool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deskpool",
        abstract: "A virtual desktop broker for Linux and KVM.",
        discussion: """
            Start with deskpool login --server URL --user NAME; the other API commands use that login. \
            Shell completion: deskpool --generate-completion-script bash|zsh|fish.
            """,
        groupedSubcommands: [
            CommandGroup(name: "Users", subcommands: [ConnectCommand.self, LoginCommand.self, LogoutCommand.self, WhoamiCommand.self]),
            CommandGroup(name: "Admin", subcommands: [
                PoolsCommand.self, DesktopsCommand.self, SessionsCommand.self, TemplatesCommand.self, PolicyCommand.self, HostsCommand.self, AuditCommand.self, UsageCommand.self, LoginsCommand.self,
            ]),
            CommandGroup(name: "Broker host", subcommands: [ServeCommand.self, DoctorCommand.self, LocalCommand.self]),
        ]
    )
}

/// The `--config` option every command on the broker's host shares.
struct ConfigOptions: ParsableArguments {
    @Option(help: "The configuration file (default: /etc/deskpool/deskpool.yaml if present, else built-in defaults).",
            completion: .file(extensions: ["yaml", "yml"]))
    var config: String?
}
