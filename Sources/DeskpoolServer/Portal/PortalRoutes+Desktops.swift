import DeskpoolCore
import Hummingbird
import HTTPTypes

/// My desktops: the pools a user may use, connecting (the `.vv` download, or a "preparing"
/// page that asks again), and logging off.
extension PortalRoutes {
    func addDesktops(to router: Router<DeskpoolRequestContext>) {
        router.get("desktops", use: userPage { _, _, login in
            try await desktopsPage(login)
        })
        router.post("desktops/:pool/connect", use: userChange { request, context, login in
            guard let pool = context.parameters.get("pool"), DeskpoolConfiguration.isSafeName(pool) else {
                return try await desktopsPage(login, alert: "There is no such pool.", status: .notFound)
            }
            do {
                switch try await desktops.request(pool: pool, for: login.principal, another: false, clientAddress: context.clientAddress) {
                case .file(let grant):
                    return DesktopRequests.fileResponse(grant)
                case .preparing(let answer):
                    let retry = DesktopRequests.retryAfter(estimate: answer.estimateSeconds)
                    let content = PreparingContent(poolName: pool, desktopName: answer.desktop.name, estimateSeconds: answer.estimateSeconds,
                                                   retryAfter: retry)
                    return renderer.response("preparing", PortalPage("Preparing your desktop", login: login, content: content),
                                             status: .accepted, headers: [.retryAfter: String(retry)])
                }
            } catch {
                let failure = failure(error, request: request, context: context)
                return try await desktopsPage(login, alert: Self.sentence(failure.body.error.message), status: failure.status)
            }
        })
        router.post("sessions/:id/logoff", use: userChange { _, context, login in
            let id = context.parameters.get("id") ?? ""
            do {
                guard id.count <= 64 else { throw DeskpoolError(.notFound, "no such desktop") }
                try await services.broker.logoff(desktop: id, user: login.user)
            } catch let error as DeskpoolError where error.code == .notFound {
                return errorPage(APIFailure(.notFound, code: "notFound", "you have no session on that desktop"), login: login)
            }
            return .redirect(to: "/desktops")
        })
    }

    func desktopsPage(_ login: LoginSession, alert: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let pools = try await UserRoutes(services: services, desktops: desktops).userPools(for: login.principal)
        var page = PortalPage("My desktops", login: login, alert: alert, content: DesktopsContent(pools))
        page.onDesktops = true
        return renderer.response("desktops", page, status: status)
    }
}
