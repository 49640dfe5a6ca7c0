import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension PoolsCommand {
    struct Scale: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a pool's min, max, spare or saved spares; with --wait, until its ready desktops match.",
            discussion: """
                Sizes not given stay. With --wait, polls the pool every 2 s and shows \
                [#####.....] 3/5 ready, 2 provisioning on standard error until the ready desktops are what \
                the pool keeps: min(max, max(min, in use + spare + saved)) less those in use (saved \
                spares count as ready). Exits 1 if that is not reached within --timeout seconds.
                """
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The pool's name.") var name: String
        @Option(help: "Desktops that exist at least.") var min: Int?
        @Option(help: "Desktops that may exist at most.") var max: Int?
        @Option(help: "Ready, unassigned desktops kept waiting for users (running spares).") var spare: Int?
        @Option(help: "Spares kept stopped with their memory on disk, resumed in seconds.") var saved: Int?
        @Flag(help: "Wait until the pool's ready desktops reach the new size.") var wait = false
        @Option(help: "Seconds to wait with --wait.") var timeout = 900

        func validate() throws {
            guard min != nil || max != nil || spare != nil || saved != nil else {
                throw ValidationError("give at least one of --min, --max, --spare, --saved")
            }
            guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        }

        func run(_ api: APIClient) async throws {
            var pool = try await api.scalePool(name, ScaleRequest(min: min, max: max, spare: spare, saved: saved))
            if wait {
                guard let reached = try await PoolsCommand.wait(for: name, api: api, timeout: timeout, what: "not at its new size",
                                                                line: { PoolReadiness($0).line() }, done: { PoolReadiness($0).isReached })
                else { throw CLIError("pool \(name) was deleted while waiting") }
                pool = reached
            }
            if output.json { return printJSON(try PrettyJSON.encode(pool)) }
            print("scaled " + PoolsCommand.summary(pool))
        }
    }
}
