import DeskpoolCore
import Foundation
import Hummingbird
import HTTPTypes

/// What every logged-in user may do: list their pools, request a desktop (the `.vv` file or
/// "preparing"), list their sessions and log off. Another user's desktop is a 404.
struct UserRoutes {
    let services: BrokerServices
    let desktops: DesktopRequests

    func add(to api: RouterGroup<BrokerRequestContext>) {
        api.get("pools") { request, context -> Response in
            let session = try context.requireSession(request)
            return try jsonResponse(try await userPools(for: session.principal))
        }
        api.post("pools/:pool/desktop") { request, context -> Response in
            let session = try context.requireSession(request)
            let pool = try context.name("pool")
            let another: Bool
            switch request.uri.queryParameters["another"] {
            case nil, "false", "0": another = false
            case "true", "1": another = true
            default: throw APIFailure(.badRequest, code: "invalidInput", "another must be true or false", field: "another")
            }
            switch try await desktops.request(pool: pool, for: session.principal, another: another, clientAddress: context.clientAddress) {
            case .file(let grant):
                return DesktopRequests.fileResponse(grant)
            case .preparing(let answer):
                var headers = HTTPFields()
                headers[.retryAfter] = String(DesktopRequests.retryAfter(estimate: answer.estimateSeconds))
                return try jsonResponse(answer, status: .accepted, headers: headers)
            }
        }
        api.get("sessions") { request, context -> Response in
            let session = try context.requireSession(request)
            let mine = try await services.store.desktops(pool: nil).filter { $0.user == session.user && $0.state.isInSession }
            return try jsonResponse(mine.map(DesktopView.init))
        }
        api.delete("sessions/:desktop") { request, context -> Response in
            let session = try context.requireSession(request)
            let id = context.parameters.get("desktop") ?? ""
            guard let desktop = try await services.store.desktop(id: id), desktop.user == session.user, desktop.state.isInSession else {
                throw APIFailure(.notFound, code: "notFound", "you have no session on desktop \(id.prefix(64))", field: "desktop")
            }
            let ended = try await services.sessions.logoff(desktop: desktop.id, by: session.user, reason: "logged off by the user")
            return try jsonResponse(DesktopView(ended))
        }
    }

    /// The pools the user is entitled to, with what is ready and what they hold.
    func userPools(for principal: SessionBroker.Principal) async throws -> [UserPoolView] {
        let pools = try await services.store.pools().filter { $0.entitles(user: principal.user, groups: principal.groups) && !$0.draining }
        let all = try await services.store.desktops(pool: nil)
        return pools.map { pool in
            let desktops = all.filter { $0.pool == pool.name }
            return UserPoolView(
                name: pool.name, assignment: pool.assignment,
                available: desktops.filter { $0.state == .ready && $0.user == nil }.count,
                estimateSeconds: services.estimator.estimate(pool: pool.name),
                desktops: desktops.filter { $0.user == principal.user && $0.state != .deleting }.map(DesktopView.init))
        }
    }
}
