import DeskpoolCore
import Foundation

struct AuditContent {
    struct Entry {
        var entryID: String
        var at: Stamp
        var who: String
        var what: String
        var target: String
        var outcome: String
        var failed: Bool
        var detail: String
    }

    var subject: String
    var actor: String
    var action: String
    var limit: Int
    var entries: [Entry]
    var hasEntries: Bool
    var newestLink: String?
    var olderLink: String?

    init(_ query: AuditQuery, entries: [AuditEntry]) {
        subject = query.subject ?? ""
        actor = query.actor ?? ""
        action = query.action ?? ""
        limit = query.limit
        self.entries = entries.map { e in
            Entry(entryID: e.id.map(String.init) ?? "", at: Stamp(e.at), who: e.actor, what: e.action, target: e.subject,
                  outcome: e.result, failed: e.result != "ok", detail: e.detail)
        }
        hasEntries = !entries.isEmpty
        if query.before != nil {
            newestLink = "/admin/audit" + Self.queryString(query, before: nil)
        }
        if entries.count == query.limit, let last = entries.last?.id {
            olderLink = "/admin/audit" + Self.queryString(query, before: last)
        }
    }

    /// What a query value keeps unencoded (`admin:root`, `pool/eng`, `desktop.state`).
    static let plain = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~:/"))

    /// The filters and page size, with `before` when given, as a URL query.
    static func queryString(_ query: AuditQuery, before: Int64?) -> String {
        var parts: [String] = []
        for (key, value) in [("subject", query.subject), ("actor", query.actor), ("action", query.action)] {
            if let value, !value.isEmpty { parts.append("\(key)=\(value.addingPercentEncoding(withAllowedCharacters: Self.plain) ?? "")") }
        }
        if query.limit != AuditQuery().limit { parts.append("limit=\(query.limit)") }
        if let before { parts.append("before=\(before)") }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }
}
