import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension PoolsCommand {
    struct Apply: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a pool or change it to a YAML pool file.",
            discussion: "The pool's name comes from the file. The broker rolls changes out to existing desktops as docs/broker.md describes."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The pool file (YAML, see docs/broker.md).", completion: .file(extensions: ["yaml", "yml"])) var file: String

        func run(_ api: APIClient) async throws {
            let spec = try PoolSpec.load(file: file)
            let pool = try await api.putPool(spec)
            if output.json { return printJSON(try PrettyJSON.encode(pool)) }
            print("applied " + PoolsCommand.summary(pool))
        }
    }
}
