import ArgumentParser
import DeskpoolClient
import DeskpoolCore

/// `deskpool pools ...`: pools through the broker's API.
struct PoolsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pools",
        abstract: "List, create, change, scale, entitle and delete pools (admin).",
        discussion: "Pool files are the YAML files of docs/broker.md; the broker checks them again and names the field at fault.",
        subcommands: [List.self, Show.self, Create.self, Apply.self, Scale.self, Entitle.self, Delete.self]
    )
}

extension PoolsCommand {
    /// The pool lines of `pools list` and the capacity of `pools show`.
    static func table(_ pools: [PoolView]) -> TextTable {
        var table = TextTable([
            .init("NAME"), .init("TEMPLATE"), .init("ASSIGNMENT"), .init("MIN", .right), .init("MAX", .right),
            .init("SPARE", .right), .init("READY", .right), .init("IN-USE", .right), .init("PREPARING", .right),
            .init("FAILED", .right), .init("TOTAL", .right), .init("STATUS"),
        ])
        for pool in pools {
            let spec = pool.spec, capacity = pool.capacity
            table.append([
                spec.name, "\(spec.template)@\(spec.version)", spec.assignment.rawValue, "\(spec.min)", "\(spec.max)",
                spec.sparesText, "\(capacity.ready)", "\(capacity.assigned + capacity.connected + capacity.disconnected)",
                "\(capacity.provisioning)", "\(capacity.failed)", "\(capacity.total)", pool.draining ? "draining" : "active",
            ])
        }
        return table
    }

    /// One line after a change: `pool tiny: generation 3, min 0, max 10, spare 2; 2 ready of 2`.
    static func summary(_ pool: PoolView) -> String {
        let spec = pool.spec
        return "pool \(spec.name): generation \(spec.generation), \(spec.assignment.rawValue), min \(spec.min), max \(spec.max), spare \(spec.sparesText)"
            + "; \(PoolReadiness(pool).summary)" + (pool.draining ? "; draining" : "")
    }

    /// Polls a pool until `done` says so or the time is up, showing `line` as progress.
    static func wait(for name: String, api: APIClient, timeout: Int, what: String,
                     line: (PoolView) -> String, done: (PoolView) -> Bool) async throws -> PoolView? {
        let progress = ProgressLine()
        let deadline = ContinuousClock.now + .seconds(timeout)
        while true {
            let pool: PoolView
            do {
                pool = try await api.pool(name)
            } catch let error as ClientError where error.code == "notFound" {
                progress.finish()
                return nil
            }
            progress.show(line(pool))
            if done(pool) {
                progress.finish()
                return pool
            }
            guard ContinuousClock.now < deadline else {
                progress.finish()
                throw CLIError("pool \(name): \(what) after \(timeout) s (\(PoolReadiness(pool).summary))",
                               hint: "deskpool desktops list --pool \(name) shows each desktop's state and reason")
            }
            try await Task.sleep(for: .seconds(2))
        }
    }
}
