import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension PoolsCommand {
    struct Create: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a pool from a YAML pool file.",
            discussion: "Fails with alreadyExists if the name is taken; use apply to create or change."
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The pool file (YAML, see docs/broker.md).", completion: .file(extensions: ["yaml", "yml"])) var file: String

        func run(_ api: APIClient) async throws {
            let spec = try PoolSpec.load(file: file)
            let pool = try await api.createPool(spec)
            if output.json { return printJSON(try PrettyJSON.encode(pool)) }
            print("created " + PoolsCommand.summary(pool))
        }
    }
}
