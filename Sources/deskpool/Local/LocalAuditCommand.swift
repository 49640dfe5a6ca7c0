import ArgumentParser
import DeskpoolCore
import Foundation

/// `deskpool local audit`: the audit log from the store.
struct LocalAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Show the audit log, newest first.")
    @OptionGroup var options: ConfigOptions
    @Option(help: "Only this subject, e.g. desktop/eng-001 or pool/eng.") var subject: String?
    @Option(help: "At most this many entries.") var limit = 50

    func run() async throws {
        let context = try await CommandContext.open(options, hosts: .none)
        for e in try await context.store.auditLog(subject: subject, limit: limit) {
            print([ISO8601DateFormatter().string(from: e.at), e.actor, e.action, e.subject, e.result, e.detail].joined(separator: "\t"))
        }
    }
}
