import ArgumentParser
import DeskpoolClient
import DeskpoolCore

extension PoolsCommand {
    struct Delete: APICommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a pool: it drains, then disappears once its last desktop is gone.",
            discussion: "No new sessions start; idle desktops are deleted now, desktops in use at their logoff. With --wait, waits until the pool is gone."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The pool's name.") var name: String
        @Flag(help: "Wait until the pool is gone.") var wait = false
        @Option(help: "Seconds to wait with --wait.") var timeout = 900

        func run(_ api: APIClient) async throws {
            let pool = try await api.deletePool(name)
            guard wait else {
                return print("pool \(name): draining, \(pool.capacity.total) desktop(s) left")
            }
            let bar = ProgressBar()
            let start = pool.capacity.total
            _ = try await PoolsCommand.wait(for: name, api: api, timeout: timeout, what: "still there",
                                            line: { bar.render(done: start - $0.capacity.total, total: start, detail: "\($0.capacity.total) desktop(s) left") },
                                            done: { _ in false })
            print("pool \(name): deleted")
        }
    }
}
