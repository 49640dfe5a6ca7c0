import DeskpoolCore
import Foundation
import Hummingbird

/// `/api/v1/admin/policies` (validate, plan) and `/api/v1/admin/rollouts` (apply, list, show,
/// pause, resume, cancel, roll back).
struct AdminRolloutRoutes {
    let services: BrokerServices

    func add(to admin: RouterGroup<DeskpoolRequestContext>) {
        admin.post("policies/validate") { request, context -> Response in
            _ = try context.requireAdmin(request)
            let body = try await request.decodeJSON(PolicySource.self, context: context)
            return try jsonResponse(PolicySummary(try PolicyRollouts.parse(body.source, file: body.file ?? "policy")))
        }
        admin.post("policies/plan") { request, context -> Response in
            _ = try context.requireAdmin(request)
            let body = try await request.decodeJSON(PolicySource.self, context: context)
            let policy = try PolicyRollouts.parse(body.source, file: body.file ?? "policy")
            return try jsonResponse(try await services.rollouts.plan(policy))
        }
        admin.post("rollouts") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let body = try await request.decodeJSON(PolicySource.self, context: context)
            let rollout = try await services.rollouts.apply(source: body.source, file: body.file ?? "policy", actor: "admin:\(login.user)")
            return try jsonResponse(try await view(rollout), status: .created)
        }
        admin.get("rollouts") { request, context -> Response in
            _ = try context.requireAdmin(request)
            let active: Bool
            switch request.uri.queryParameters.get("active") {
            case nil, "false": active = false
            case "true": active = true
            default: throw APIFailure(.badRequest, code: "invalidInput", "active must be true or false", field: "active")
            }
            return try jsonResponse(try await services.broker.rolloutViews(active: active))
        }
        admin.get("rollouts/:id") { request, context -> Response in
            _ = try context.requireAdmin(request)
            return try jsonResponse(try await services.broker.rolloutView(id: try context.name("id")))
        }
        for (verb, operation) in [("pause", PolicyRollouts.pause), ("resume", PolicyRollouts.resume),
                                  ("cancel", PolicyRollouts.cancel), ("rollback", PolicyRollouts.rollback)] {
            admin.post("rollouts/:id/\(verb)") { request, context -> Response in
                let login = try context.requireAdmin(request)
                let id = try await services.broker.rolloutView(id: try context.name("id")).rollout.id
                let moved = try await operation(services.rollouts)(id, "admin:\(login.user)")
                return try jsonResponse(try await view(moved))
            }
        }
    }

    private func view(_ rollout: Rollout) async throws -> RolloutView {
        try await services.broker.rolloutView(id: rollout.id)
    }
}
