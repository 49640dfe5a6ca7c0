import ArgumentParser

/// The `deskpool` command: the broker and its admin tools.
@main
struct Deskpool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deskpool",
        abstract: "A virtual desktop broker for Linux and KVM.",
        subcommands: [DoctorCommand.self, ServeCommand.self, LocalCommand.self]
    )
}

/// The `--config` option every command on the broker's host shares.
struct ConfigOptions: ParsableArguments {
    @Option(help: "The configuration file (default: /etc/deskpool/deskpool.yaml if present, else built-in defaults).",
            completion: .file(extensions: ["yaml", "yml"]))
    var config: String?
}
