import DeskpoolCore
import Foundation
import Hummingbird

/// `/api/v1/admin/pools`: create, change, scale, entitle and delete (drain) pools.
struct AdminPoolRoutes {
    let services: BrokerServices

    func add(to admin: RouterGroup<DeskpoolRequestContext>) {
        admin.get("pools") { request, context -> Response in
            _ = try context.requireAdmin(request)
            let desktops = try await services.broker.desktops(pool: nil)
            return try jsonResponse(try await services.broker.pools().map { pool in
                PoolView(spec: pool, capacity: PoolCapacity(desktops.filter { $0.pool == pool.name }))
            })
        }
        admin.post("pools") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let spec = try await request.decodeJSON(PoolSpec.self, context: context)
            guard try await services.broker.pool(named: spec.name) == nil else {
                throw APIFailure(.conflict, code: "alreadyExists", "a pool named \(spec.name) exists; PUT /api/v1/admin/pools/\(spec.name) changes it",
                                 field: "name")
            }
            return try jsonResponse(try await apply(spec, by: login), status: .created)
        }
        admin.get("pools/:name") { request, context -> Response in
            _ = try context.requireAdmin(request)
            return try jsonResponse(try await view(try await pool(context)))
        }
        admin.put("pools/:name") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let name = try context.name("name")
            let spec = try await request.decodeJSON(PoolSpec.self, context: context)
            guard spec.name == name else {
                throw APIFailure(.badRequest, code: "invalidInput", "must be \(name), the pool in the path", field: "name")
            }
            return try jsonResponse(try await apply(spec, by: login))
        }
        admin.post("pools/:name/scale") { request, context -> Response in
            let login = try context.requireAdmin(request)
            var spec = try await pool(context)
            let scale = try await request.decodeJSON(ScaleRequest.self, context: context)
            guard scale.min != nil || scale.max != nil || scale.spare != nil || scale.saved != nil else {
                throw APIFailure(.badRequest, code: "invalidInput", "give at least one of min, max, spare and saved")
            }
            spec.min = scale.min ?? spec.min
            spec.max = scale.max ?? spec.max
            if let spare = scale.spare {
                spec.spare = spare
                spec.forecast = nil  // a number given: fixed running spares, not the forecast's
            }
            spec.savedSpare = scale.saved ?? spec.savedSpare
            return try jsonResponse(try await apply(spec, by: login))
        }
        admin.put("pools/:name/entitlements") { request, context -> Response in
            let login = try context.requireAdmin(request)
            var spec = try await pool(context)
            let entitlements = try await request.decodeJSON(EntitlementsRequest.self, context: context)
            spec.users = entitlements.users
            spec.groups = entitlements.groups
            return try jsonResponse(try await apply(spec, by: login))
        }
        admin.delete("pools/:name") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let name = try context.name("name")
            let drained = try await services.admin.drainPool(named: name, actor: "admin:\(login.user)")
            services.poke()
            return try jsonResponse(try await view(drained), status: .accepted)
        }
    }

    private func pool(_ context: DeskpoolRequestContext) async throws -> PoolSpec {
        let name = try context.name("name")
        guard let pool = try await services.broker.pool(named: name) else {
            throw APIFailure(.notFound, code: "notFound", "no pool named \(name)", field: "name")
        }
        return pool
    }

    private func apply(_ spec: PoolSpec, by login: LoginSession) async throws -> PoolView {
        let stored = try await services.admin.applyPool(spec, actor: "admin:\(login.user)")
        services.poke()
        return try await view(stored)
    }

    private func view(_ pool: PoolSpec) async throws -> PoolView {
        PoolView(spec: pool, capacity: PoolCapacity(try await services.broker.desktops(pool: pool.name)))
    }
}
