import DeskpoolCore
import Hummingbird
import HTTPTypes

/// My desktops: the pools a user may use, connecting (the `.vv` download, or a "preparing"
/// page that asks again), and logging off.
extension PortalRoutes {
    func addDesktops(to router: Router<BrokerRequestContext>) {
        router.get("desktops", use: userPage { _, _, session in
            try await desktopsPage(session)
        })
        router.post("desktops/:pool/connect", use: userChange { request, context, session in
            guard let pool = context.parameters.get("pool"), DeskpoolConfiguration.isSafeName(pool) else {
                return try await desktopsPage(session, alert: "There is no such pool.", status: .notFound)
            }
            do {
                switch try await desktops.request(pool: pool, for: session.principal, another: false, clientAddress: context.clientAddress) {
                case .file(let grant):
                    return DesktopRequests.fileResponse(grant)
                case .preparing(let answer):
                    let retry = DesktopRequests.retryAfter(estimate: answer.estimateSeconds)
                    let content = PreparingContent(poolName: pool, desktopName: answer.desktop.name, estimateSeconds: answer.estimateSeconds,
                                                   retryAfter: retry)
                    return renderer.response("preparing", PortalPage("Preparing your desktop", session: session, content: content),
                                             status: .accepted, headers: [.retryAfter: String(retry)])
                }
            } catch {
                let failure = failure(error, request: request, context: context)
                return try await desktopsPage(session, alert: Self.sentence(failure.body.error.message), status: failure.status)
            }
        })
        router.post("sessions/:id/logoff", use: userChange { _, context, session in
            let id = context.parameters.get("id") ?? ""
            do {
                guard id.count <= 64 else { throw DeskpoolError(.notFound, "no such desktop") }
                try await services.broker.logoff(desktop: id, user: session.user)
            } catch let error as DeskpoolError where error.code == .notFound {
                return errorPage(APIFailure(.notFound, code: "notFound", "you have no session on that desktop"), session: session)
            }
            return .redirect(to: "/desktops")
        })
    }

    func desktopsPage(_ session: LoginSession, alert: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let pools = try await UserRoutes(services: services, desktops: desktops).userPools(for: session.principal)
        var page = PortalPage("My desktops", session: session, alert: alert, content: DesktopsContent(pools))
        page.onDesktops = true
        return renderer.response("desktops", page, status: status)
    }
}
