import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension PoolsCommand {
    struct Show: APICommand {
        static let configuration = CommandConfiguration(abstract: "Show a pool: its spec, entitlements and desktops by state.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The pool's name.") var name: String

        func run(_ api: APIClient) async throws {
            if output.json { return printJSON(try await api.rawJSON(.pool(name))) }
            let pool = try await api.pool(name)
            let spec = pool.spec, c = pool.capacity
            print(Display.fields([
                ("name", spec.name),
                ("status", pool.draining ? "draining (no new sessions; goes when empty)" : "active"),
                ("template", "\(spec.template), version \(spec.version)"),
                ("assignment", spec.assignment.rawValue),
                ("size", "min \(spec.min), max \(spec.max), spare \(spec.sparesText), \(spec.maxPerUser) per user"),
                ("naming", "\(spec.naming)"),
                ("users", Display.list(spec.users)),
                ("groups", Display.list(spec.groups)),
                ("hosts", spec.hosts.isEmpty ? "any" : Display.list(spec.hosts)),
                ("generation", "\(spec.generation)"),
                ("desktops", "\(c.total): \(c.ready) ready, \(c.saved) saved, \(c.assigned) assigned, \(c.connected) connected, \(c.disconnected) disconnected, "
                    + "\(c.provisioning) preparing, \(c.failed) failed, \(c.other) other"),
                ("progress", PoolReadiness(pool).line()),
            ]), terminator: "")
        }
    }
}
