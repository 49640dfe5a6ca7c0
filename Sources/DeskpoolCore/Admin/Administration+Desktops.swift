public import Foundation

/// Admin actions on one desktop, shared by the API and the portal. Each is one
/// `DesktopLifecycle` event; one the lifecycle refuses in the desktop's state answers
/// `.conflict` with that state, and nothing changes.
extension Administration {
    /// Reboots a running desktop's guest (no state change; audited as `desktop.reboot`).
    public func rebootDesktop(id: String, by admin: String, at date: Date) async throws(DeskpoolError) -> Desktop {
        let desktop = try await desktop(id)
        guard [.ready, .assigned, .connected, .disconnected].contains(desktop.state), let hypervisor = hypervisors[desktop.host] else {
            throw DeskpoolError(.conflict, "desktop \(desktop.name) is \(desktop.state.rawValue), not running", field: "id")
        }
        try await hypervisor.rebootDesktop(named: desktop.name)
        try await store.audit(AuditEntry(at: date, actor: Self.actor(admin), action: "desktop.reboot", subject: "desktop/\(desktop.name)"))
        return desktop
    }

    /// Clones the desktop afresh from its pool's version; a floating desktop goes back to the
    /// pool, a dedicated one stays its user's.
    public func refreshDesktop(id: String, by admin: String) async throws(DeskpoolError) -> Desktop {
        let desktop = try await desktop(id)
        let dedicated = try await store.pool(named: desktop.pool)?.assignment == .dedicated
        return try await apply(.adminRefreshed(by: admin, keepUser: dedicated), to: desktop, by: admin)
    }

    /// Destroys the desktop for good (its pool may make another).
    public func deleteDesktop(id: String, by admin: String) async throws(DeskpoolError) -> Desktop {
        try await apply(.adminDeleted(by: admin), to: try await desktop(id), by: admin)
    }

    /// Gives a ready, free desktop of a dedicated pool to `user`.
    public func assignDesktop(id: String, to user: String, by admin: String, at date: Date) async throws(DeskpoolError) -> Desktop {
        guard DeskpoolConfiguration.isSafeName(user) else {
            throw DeskpoolError(.invalidInput, "must be a user name", field: "user")
        }
        let desktop = try await desktop(id)
        guard try await store.pool(named: desktop.pool)?.assignment == .dedicated else {
            throw DeskpoolError(.conflict, "only desktops of dedicated pools are assigned by hand", field: "id")
        }
        let event = DesktopEvent.adminAssigned(user: user, by: admin, session: .new(at: date))
        guard let changed = try await store.transition(desktop.id, event, actor: Self.actor(admin)) else {
            throw DeskpoolError(.conflict, "desktop \(desktop.name) is not ready and free", field: "id")
        }
        return changed
    }

    /// Takes the desktop from its user; it goes back to the pool cloned afresh.
    public func unassignDesktop(id: String, by admin: String) async throws(DeskpoolError) -> Desktop {
        let desktop = try await desktop(id)
        guard desktop.user != nil else { throw DeskpoolError(.conflict, "desktop \(desktop.name) is not assigned", field: "id") }
        return try await apply(.adminUnassigned(by: admin), to: desktop, by: admin)
    }

    /// The desktop with this id (at most 64 characters), or `.notFound`.
    public func desktop(_ id: String) async throws(DeskpoolError) -> Desktop {
        guard id.count <= 64, let desktop = try await store.desktop(id: id) else {
            throw DeskpoolError(.notFound, "no desktop with that id", field: "id")
        }
        return desktop
    }

    private func apply(_ event: DesktopEvent, to desktop: Desktop, by admin: String) async throws(DeskpoolError) -> Desktop {
        guard let changed = try await store.transition(desktop.id, event, actor: Self.actor(admin)) else {
            throw DeskpoolError(.conflict, "desktop \(desktop.name) is \(desktop.state.rawValue) now; try again later", field: "id")
        }
        return changed
    }

    static func actor(_ admin: String) -> String { "admin:\(admin)" }
}
