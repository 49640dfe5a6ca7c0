public import Foundation

/// One line of the append-only audit log: who did what to which subject, when, and how it
/// ended. Never holds a password or console ticket.
public struct AuditEntry: Sendable, Hashable, Codable {
    public var id: Int64?
    public var at: Date
    /// A user name, `admin:NAME`, or `broker` for the reconciler.
    public var actor: String
    /// e.g. `desktop.state`, `pool.put`, `template.publish`.
    public var action: String
    /// e.g. `desktop/eng-001`, `pool/eng`, `template/tiny-linux/3`.
    public var subject: String
    /// `ok`, or `error: reason`.
    public var result: String
    public var detail: String

    public init(id: Int64? = nil, at: Date, actor: String, action: String, subject: String, result: String = "ok", detail: String = "") {
        self.id = id
        self.at = at
        self.actor = Field.actor.cap(actor)
        self.action = Field.action.cap(action)
        self.subject = Field.subject.cap(subject)
        self.result = Field.result.cap(result)
        self.detail = Field.detail.cap(detail)
    }

    /// The fields and their caps: every way into the audit log goes through `cap`, so no
    /// request, however large, writes more than about 5 KB of text per entry, and no field holds
    /// a control character (the detail keeps its newlines and tabs).
    public enum Field: Sendable, CaseIterable {
        case actor, action, subject, result, detail

        /// Longest value in UTF-8 bytes.
        public var limit: Int {
            switch self {
            case .actor: 256
            case .action: 64
            case .subject: 512
            case .result: 256
            case .detail: 4096
            }
        }

        /// `value` escaped and cut to the limit, with a marker when cut.
        public func cap(_ value: String) -> String {
            // The common case (short, plain text) costs one scan.
            if value.utf8.count <= limit, !value.unicodeScalars.contains(where: SafeText.needsEscape) { return value }
            return SafeText.escaped(value, limit: limit, keepLines: self == .detail)
        }
    }
}
