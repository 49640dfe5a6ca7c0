import ArgumentParser
import DeskpoolCore
import Foundation

/// `deskpool local desktops`: every desktop with its state, host, version and user.
struct LocalDesktopsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "desktops", abstract: "List desktops and their states.")
    @OptionGroup var options: ConfigOptions
    @Option(help: "Only this pool.") var pool: String?
    @Flag(help: "One JSON object per line.") var json = false

    func run() async throws {
        let context = try await CommandContext.open(options, hosts: .none)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        for d in try await context.store.desktops(pool: pool) {
            if json {
                print(String(decoding: try encoder.encode(d), as: UTF8.self))
            } else {
                print([d.name, d.pool, d.host, "\(d.template)@\(d.version)", d.state.rawValue, d.user ?? "-", d.reason ?? "", d.id].joined(separator: "\t"))
            }
        }
    }
}
