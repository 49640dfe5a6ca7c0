import DeskpoolCore
import Foundation
import Hummingbird

/// `/api/v1/admin/desktops` and `/api/v1/admin/sessions`: list with filters, reboot, refresh,
/// delete, assign and unassign desktops; list and end sessions.
struct AdminDesktopRoutes {
    let services: BrokerServices

    func add(to admin: RouterGroup<DeskpoolRequestContext>) {
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
            let filter = Broker.DesktopFilter(pool: try request.nameParameter("pool"), state: state, user: user, host: host)
            let desktops = try await services.broker.desktops(filter)
            return try jsonResponse(desktops.map(DesktopView.init))
        }
        admin.get("desktops/:id") { request, context -> Response in
            _ = try context.requireAdmin(request)
            return try jsonResponse(DesktopView(try await desktop(context)))
        }
        admin.post("desktops/:id/reboot") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let desktop = try await services.admin.rebootDesktop(id: id(context), by: login.user, at: services.now())
            return try jsonResponse(DesktopView(desktop), status: .accepted)
        }
        admin.post("desktops/:id/refresh") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let changed = try await services.admin.refreshDesktop(id: id(context), by: login.user)
            services.poke()
            return try jsonResponse(DesktopView(changed), status: .accepted)
        }
        admin.delete("desktops/:id") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let changed = try await services.admin.deleteDesktop(id: id(context), by: login.user)
            services.poke()
            return try jsonResponse(DesktopView(changed), status: .accepted)
        }
        admin.post("desktops/:id/assign") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let desktop = try await services.admin.desktop(id(context))
            let body = try await request.decodeJSON(AssignRequest.self, context: context)
            let changed = try await services.admin.assignDesktop(id: desktop.id, to: body.user, by: login.user, at: services.now())
            return try jsonResponse(DesktopView(changed))
        }
        admin.post("desktops/:id/unassign") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let changed = try await services.admin.unassignDesktop(id: id(context), by: login.user)
            services.poke()
            return try jsonResponse(DesktopView(changed), status: .accepted)
        }
        admin.get("sessions") { request, context -> Response in
            _ = try context.requireAdmin(request)
            let user = try request.nameParameter("user")
            let desktops = try await services.broker.desktops(Broker.DesktopFilter(pool: try request.nameParameter("pool"), user: user, inSession: true))
            return try jsonResponse(desktops.map(DesktopView.init))
        }
        admin.delete("sessions/:id") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let ended = try await services.broker.logoff(desktop: id(context), admin: login.user)
            return try jsonResponse(DesktopView(ended))
        }
    }

    private func id(_ context: DeskpoolRequestContext) -> String { context.parameters.get("id") ?? "" }

    private func desktop(_ context: DeskpoolRequestContext) async throws -> Desktop {
        try await services.admin.desktop(id(context))
    }
}
