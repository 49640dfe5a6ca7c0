import ArgumentParser
import DeskpoolClient
import DeskpoolCore

/// `deskpool audit`: the broker's audit log, newest first.
struct AuditCommand: APICommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show the audit log, newest first (admin).",
        discussion: "One page of --limit entries (1-500, the broker's default 100); --all follows the pages to the oldest. With --json and --all, one JSON array of all entries."
    )
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Only this subject, e.g. desktop/tiny-001 or pool/tiny.") var subject: String?
    @Option(help: "Only this actor, e.g. alice, admin:bob or broker.") var actor: String?
    @Option(help: "Only this action, e.g. pool.put or desktop.state.") var action: String?
    @Option(help: "Entries per page (1-500).") var limit: Int?
    @Flag(help: "Every page, not only the newest.") var all = false

    func validate() throws {
        if let limit, !(1...500).contains(limit) { throw ValidationError("--limit must be between 1 and 500") }
    }

    func run(_ api: APIClient) async throws {
        let query = AuditQuery(subject: subject, actor: actor, action: action, limit: limit)
        if output.json && !all { return printJSON(try await api.rawJSON(.audit(query))) }
        var page = try await api.audit(query)
        var entries = page.entries
        while all, let next = page.next {
            page = try await api.auditPage(at: next)
            entries += page.entries
        }
        if output.json { return printJSON(try PrettyJSON.encode(entries)) }
        var table = TextTable("AT", "ACTOR", "ACTION", "SUBJECT", "RESULT", "DETAIL")
        for e in entries { table.append([Display.time(e.at), e.actor, e.action, e.subject, e.result, e.detail]) }
        print(table.render(), terminator: "")
        if !all, page.next != nil {
            writeError("(more entries: --all, or a larger --limit)\n")
        }
    }
}
