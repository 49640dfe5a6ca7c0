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
        self.actor = actor
        self.action = action
        self.subject = subject
        self.result = result
        self.detail = detail
    }
}
