public import DeskpoolCore
public import Foundation

extension APIClient {
    /// `GET /api/v1/admin/sessions`: desktops in a session, optionally of one pool or user.
    public func sessions(pool: String? = nil, user: String? = nil) async throws -> [DesktopView] {
        try await call(.sessions(pool: pool, user: user))
    }

    /// `DELETE /api/v1/admin/sessions/{desktop}`: forced logoff, with the pool's logoff action.
    public func forceLogoff(desktop: String) async throws -> DesktopView {
        try await call(.api(.delete, "admin", "sessions", desktop))
    }

    /// `GET /api/v1/admin/hosts`.
    public func hosts() async throws -> [HostView] {
        try await call(.hosts)
    }

    /// `GET /api/v1/admin/replicas`.
    public func replicas() async throws -> ReplicasView {
        try await call(.replicas)
    }

    /// `GET /api/v1/admin/audit`: the newest page that matches.
    public func audit(_ query: AuditQuery = AuditQuery()) async throws -> AuditPage {
        try await call(.audit(query))
    }

    /// The page an `AuditPage.next` link names (older entries).
    public func auditPage(at link: String) async throws -> AuditPage {
        try await call(.auditPage(at: try path(ofLink: link)))
    }
}

/// The filters of `GET /api/v1/admin/audit`; nil means any (or the broker's default).
public struct AuditQuery: Sendable, Hashable {
    public var subject: String?
    public var actor: String?
    public var action: String?
    /// Entries older than this id.
    public var before: Int64?
    /// 1 to 500 (the broker's default: 100).
    public var limit: Int?
    public init(subject: String? = nil, actor: String? = nil, action: String? = nil, before: Int64? = nil, limit: Int? = nil) {
        self.subject = subject
        self.actor = actor
        self.action = action
        self.before = before
        self.limit = limit
    }
}

extension Endpoint {
    public static func sessions(pool: String?, user: String?) -> Endpoint {
        .api(.get, "admin", "sessions", query: filters(["pool": pool, "user": user]))
    }

    public static let hosts = Endpoint.api(.get, "admin", "hosts")
    public static let replicas = Endpoint.api(.get, "admin", "replicas")

    public static func audit(_ query: AuditQuery) -> Endpoint {
        .api(.get, "admin", "audit", query: filters([
            "subject": query.subject, "actor": query.actor, "action": query.action,
            "before": query.before.map(String.init), "limit": query.limit.map(String.init),
        ]))
    }

    /// A server-relative link (`next`) as a GET.
    public static func auditPage(at path: String) -> Endpoint { Endpoint(.get, path) }
}

// MARK: - Usage history

extension APIClient {
    /// `GET /api/v1/admin/usage`: the sessions open in the period.
    public func usageSessions(pool: String?, user: String?, from: String?, to: String?) async throws -> UsageSessions {
        try await call(.usage(pool: pool, user: user, from: from, to: to, bucket: nil, csv: false))
    }

    /// `GET /api/v1/admin/usage?bucket=`: the period summed by hour, day or week.
    public func usageBuckets(pool: String?, user: String?, from: String?, to: String?, bucket: String) async throws -> UsageBuckets {
        try await call(.usage(pool: pool, user: user, from: from, to: to, bucket: bucket, csv: false))
    }

    /// The same as CSV, as the broker wrote it.
    public func usageCSV(pool: String?, user: String?, from: String?, to: String?, bucket: String?) async throws -> Data {
        try await expectSuccess(.usage(pool: pool, user: user, from: from, to: to, bucket: bucket, csv: true)).body
    }
}

extension Endpoint {
    public static func usage(pool: String?, user: String?, from: String?, to: String?, bucket: String?, csv: Bool) -> Endpoint {
        .api(.get, "admin", "usage", query: filters([
            "pool": pool, "user": user, "from": from, "to": to, "bucket": bucket, "format": csv ? "csv" : nil,
        ]))
    }
}
