import DeskpoolCore
import Foundation
import Hummingbird
import HTTPTypes

/// What every logged-in user may do: list their pools, request a desktop (the `.vv` file, a
/// browser console's parameters, or "preparing"), list their sessions and log off. Another user's desktop is a 404.
struct UserRoutes {
    let services: BrokerServices
    let desktops: DesktopRequests

    func add(to api: RouterGroup<DeskpoolRequestContext>) {
        api.get("pools") { request, context -> Response in
            let login = try context.requireSession(request)
            return try jsonResponse(try await userPools(for: login.principal))
        }
        api.post("pools/:pool/desktop") { request, context -> Response in
            let login = try context.requireSession(request)
            let pool = try context.name("pool")
            let another: Bool
            switch request.uri.queryParameters["another"] {
            case nil, "false", "0": another = false
            case "true", "1": another = true
            default: throw APIFailure(.badRequest, code: "invalidInput", "another must be true or false", field: "another")
            }
            let console: ConsoleKind
            switch request.uri.queryParameters["console"] {
            case nil, "spice": console = .spice
            case "browser": console = .browser
            default: throw APIFailure(.badRequest, code: "invalidInput", "console must be spice or browser", field: "console")
            }
            switch try await desktops.request(pool: pool, for: login.principal, another: another, clientAddress: context.clientAddress,
                                              console: console) {
            case .file(let grant):
                return DesktopRequests.fileResponse(grant)
            case .browser(let grant):
                return try DesktopRequests.browserResponse(grant)
            case .preparing(let answer):
                var headers = HTTPFields()
                headers[.retryAfter] = String(DesktopRequests.retryAfter(estimate: answer.estimateSeconds))
                return try jsonResponse(answer, status: .accepted, headers: headers)
            }
        }
        api.get("sessions") { request, context -> Response in
            let login = try context.requireSession(request)
            return try jsonResponse(try await services.broker.sessions(of: login.user).map(DesktopView.init))
        }
        api.delete("sessions/:desktop") { request, context -> Response in
            let login = try context.requireSession(request)
            let ended = try await services.broker.logoff(desktop: context.parameters.get("desktop") ?? "", user: login.user)
            return try jsonResponse(DesktopView(ended))
        }
    }

    /// The pools the user is entitled to, with what is ready and what they hold.
    func userPools(for principal: SessionBroker.Principal) async throws -> [UserPoolView] {
        try await services.broker.pools(for: principal)
    }
}
