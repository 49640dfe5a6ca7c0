import DeskpoolCore
import Foundation
import Hummingbird

/// `/api/v1/admin/desktops` and `/api/v1/admin/sessions`: list with filters, reboot, refresh,
/// delete, assign and unassign desktops; list and end sessions.
struct AdminDesktopRoutes {
    let services: BrokerServices

    func add(to admin: RouterGroup<BrokerRequestContext>) {
        admin.get("desktops") { request, context -> Response in
            _ = try context.requireAdmin(request)
            var state: DesktopState?
            if let text = request.uri.queryParameters["state"] {
                guard let parsed = DesktopState(rawValue: String(text)) else {
                    throw APIFailure(.badRequest, code: "invalidInput",
                                     "state must be one of \(DesktopState.allCases.map(\.rawValue).joined(separator: ", "))", field: "state")
                }
                state = parsed
            }
            let (user, host) = (try request.nameParameter("user"), try request.nameParameter("host"))
            let desktops = try await services.store.desktops(pool: try request.nameParameter("pool")).filter { d in
                (state.map { d.state == $0 } ?? true) && (user.map { d.user == $0 } ?? true) && (host.map { d.host == $0 } ?? true)
            }
            return try jsonResponse(desktops.map(DesktopView.init))
        }
        admin.get("desktops/:id") { request, context -> Response in
            _ = try context.requireAdmin(request)
            return try jsonResponse(DesktopView(try await desktop(context)))
        }
        admin.post("desktops/:id/reboot") { request, context -> Response in
            let session = try context.requireAdmin(request)
            let desktop = try await desktop(context)
            guard [.ready, .assigned, .connected, .disconnected].contains(desktop.state), let hypervisor = services.hypervisor(desktop.host) else {
                throw APIFailure(.conflict, code: "conflict", "desktop \(desktop.name) is \(desktop.state.rawValue), not running", field: "id")
            }
            try await hypervisor.rebootDesktop(named: desktop.name)
            try await services.store.audit(AuditEntry(at: services.now(), actor: "admin:\(session.user)", action: "desktop.reboot",
                                                      subject: "desktop/\(desktop.name)"))
            return try jsonResponse(DesktopView(desktop), status: .accepted)
        }
        admin.post("desktops/:id/refresh") { request, context -> Response in
            let session = try context.requireAdmin(request)
            let desktop = try await desktop(context)
            let pool = try await services.store.pool(named: desktop.pool)
            let changed = try await transition(desktop, from: [.ready, .assigned, .connected, .disconnected, .off, .failed], by: session) { d in
                d.state = .refreshing
                d.reason = "refreshed by admin \(session.user)"
                d.endSession()
                if pool?.assignment != .dedicated { d.user = nil }
            }
            return try jsonResponse(DesktopView(changed), status: .accepted)
        }
        admin.delete("desktops/:id") { request, context -> Response in
            let session = try context.requireAdmin(request)
            let desktop = try await desktop(context)
            let from = Set(DesktopState.allCases).subtracting([.deleting])
            let changed = try await transition(desktop, from: from, by: session) { d in
                d.state = .deleting
                d.reason = "deleted by admin \(session.user)"
                d.endSession()
            }
            return try jsonResponse(DesktopView(changed), status: .accepted)
        }
        admin.post("desktops/:id/assign") { request, context -> Response in
            let session = try context.requireAdmin(request)
            let desktop = try await desktop(context)
            let body = try await request.decodeJSON(AssignRequest.self, context: context)
            guard DeskpoolConfiguration.isSafeName(body.user) else {
                throw APIFailure(.badRequest, code: "invalidInput", "must be a user name", field: "user")
            }
            guard try await services.store.pool(named: desktop.pool)?.assignment == .dedicated else {
                throw APIFailure(.conflict, code: "conflict", "only desktops of dedicated pools are assigned by hand", field: "id")
            }
            let start = services.now()
            guard let changed = try await services.store.transition(desktop.id, from: [.ready], actor: "admin:\(session.user)", change: { d in
                guard d.user == nil else { return }
                d.state = .assigned
                d.user = body.user
                d.beginSession(at: start)
            }), changed.user == body.user else {
                throw APIFailure(.conflict, code: "conflict", "desktop \(desktop.name) is not ready and free", field: "id")
            }
            return try jsonResponse(DesktopView(changed))
        }
        admin.post("desktops/:id/unassign") { request, context -> Response in
            let session = try context.requireAdmin(request)
            let desktop = try await desktop(context)
            guard desktop.user != nil else { throw APIFailure(.conflict, code: "conflict", "desktop \(desktop.name) is not assigned", field: "id") }
            // The desktop goes back to the pool cloned afresh: nothing of its user's stays on it.
            let changed = try await transition(desktop, from: [.ready, .assigned, .connected, .disconnected, .off, .failed], by: session) { d in
                d.state = .refreshing
                d.reason = "unassigned by admin \(session.user)"
                d.endSession()
                d.user = nil
            }
            return try jsonResponse(DesktopView(changed), status: .accepted)
        }
        admin.get("sessions") { request, context -> Response in
            _ = try context.requireAdmin(request)
            let user = try request.nameParameter("user")
            let desktops = try await services.store.desktops(pool: try request.nameParameter("pool"))
                .filter { d in d.state.isInSession && (user.map { d.user == $0 } ?? true) }
            return try jsonResponse(desktops.map(DesktopView.init))
        }
        admin.delete("sessions/:id") { request, context -> Response in
            let session = try context.requireAdmin(request)
            let desktop = try await desktop(context)
            guard desktop.state.isInSession else {
                throw APIFailure(.notFound, code: "notFound", "desktop \(desktop.name) has no session", field: "id")
            }
            let ended = try await services.sessions.logoff(desktop: desktop.id, by: "admin:\(session.user)",
                                                           reason: "logged off by admin \(session.user)")
            return try jsonResponse(DesktopView(ended))
        }
    }

    private func desktop(_ context: BrokerRequestContext) async throws -> Desktop {
        let id = context.parameters.get("id") ?? ""
        guard id.count <= 64, let desktop = try await services.store.desktop(id: id) else {
            throw APIFailure(.notFound, code: "notFound", "no desktop with that id", field: "id")
        }
        return desktop
    }

    private func transition(_ desktop: Desktop, from: Set<DesktopState>, by session: LoginSession,
                            change: @escaping @Sendable (inout Desktop) -> Void) async throws -> Desktop {
        guard let changed = try await services.store.transition(desktop.id, from: from, actor: "admin:\(session.user)", change: change) else {
            throw APIFailure(.conflict, code: "conflict", "desktop \(desktop.name) is \(desktop.state.rawValue) now; try again later", field: "id")
        }
        services.poke()
        return changed
    }
}
