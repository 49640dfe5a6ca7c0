import ArgumentParser

/// The `deskpool` command: the broker and its admin tools.
@main
struct Deskpool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deskpool",
        abstract: "A virtual desktop broker for Linux and KVM.",
        subcommands: [DoctorCommand.self, ServeCommand.self, TemplateCommand.self, PoolCommand.self, DesktopsCommand.self, RequestCommand.self, ConsoleCommand.self, LogoffCommand.self, AuditCommand.self]
    )
}

/// The `--config` option every command shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file (default: /etc/deskpool/deskpool.yaml if present, else built-in defaults).")
    var config: String?
}
