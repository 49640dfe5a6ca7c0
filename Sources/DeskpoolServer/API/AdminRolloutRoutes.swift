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
            var views: [RolloutView] = []
            for rollout in try await services.broker.rollouts(active: active, limit: 100) { views.append(try await view(rollout)) }
            return try jsonResponse(views)
        }
        admin.get("rollouts/:id") { request, context -> Response in
            _ = try context.requireAdmin(request)
            return try jsonResponse(try await view(try await rollout(context)))
        }
        for (verb, operation) in [("pause", PolicyRollouts.pause), ("resume", PolicyRollouts.resume),
                                  ("cancel", PolicyRollouts.cancel), ("rollback", PolicyRollouts.rollback)] {
            admin.post("rollouts/:id/\(verb)") { request, context -> Response in
                let login = try context.requireAdmin(request)
                let id = try await rollout(context).id
                let moved = try await operation(services.rollouts)(id, "admin:\(login.user)")
                return try jsonResponse(try await view(moved))
            }
        }
    }

    private func rollout(_ context: DeskpoolRequestContext) async throws -> Rollout {
        let id = try context.name("id")
        guard let rollout = try await services.broker.rollout(id: id) else {
            throw APIFailure(.notFound, code: "notFound", "no rollout \(id)", field: "id")
        }
        return rollout
    }

    private func view(_ rollout: Rollout) async throws -> RolloutView {
        RolloutView(rollout: rollout, items: try await services.broker.rolloutItems(rollout: rollout.id))
    }
}
