public import DeskpoolCore

extension APIClient {
    /// `GET /api/v1/admin/desktops`, with the filters that are given.
    public func desktops(_ filter: DesktopFilter = DesktopFilter()) async throws -> [DesktopView] {
        try await call(.desktops(filter))
    }

    /// `GET /api/v1/admin/desktops/{id}`.
    public func desktop(_ id: String) async throws -> DesktopView {
        try await call(.desktop(id))
    }

    /// `POST /api/v1/admin/desktops/{id}/reboot`.
    public func rebootDesktop(_ id: String) async throws -> DesktopView {
        try await call(.api(.post, "admin", "desktops", id, "reboot"))
    }

    /// `POST /api/v1/admin/desktops/{id}/refresh`: re-cloned from the pool's current version;
    /// a session on it ends.
    public func refreshDesktop(_ id: String) async throws -> DesktopView {
        try await call(.api(.post, "admin", "desktops", id, "refresh"))
    }

    /// `DELETE /api/v1/admin/desktops/{id}`.
    public func deleteDesktop(_ id: String) async throws -> DesktopView {
        try await call(.api(.delete, "admin", "desktops", id))
    }

    /// `POST /api/v1/admin/desktops/{id}/assign`: gives a ready desktop of a dedicated pool to a user.
    public func assignDesktop(_ id: String, to user: String) async throws -> DesktopView {
        try await call(.api(.post, "admin", "desktops", id, "assign").sending(AssignRequest(user: user)))
    }

    /// `POST /api/v1/admin/desktops/{id}/unassign`: takes it back (refreshed for the pool).
    public func unassignDesktop(_ id: String) async throws -> DesktopView {
        try await call(.api(.post, "admin", "desktops", id, "unassign"))
    }
}

/// The filters of `GET /api/v1/admin/desktops`; nil means any.
public struct DesktopFilter: Sendable, Hashable {
    public var pool: String?
    public var state: DesktopState?
    public var user: String?
    public var host: String?
    public init(pool: String? = nil, state: DesktopState? = nil, user: String? = nil, host: String? = nil) {
        self.pool = pool
        self.state = state
        self.user = user
        self.host = host
    }
}

extension Endpoint {
    public static func desktops(_ filter: DesktopFilter) -> Endpoint {
        .api(.get, "admin", "desktops", query: filters(["pool": filter.pool, "state": filter.state?.rawValue, "user": filter.user, "host": filter.host]))
    }

    public static func desktop(_ id: String) -> Endpoint { .api(.get, "admin", "desktops", id) }
}
