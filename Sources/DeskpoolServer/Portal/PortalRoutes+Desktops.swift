import DeskpoolCore
import Foundation
import Hummingbird
import HTTPTypes

/// My desktops: the pools a user may use, connecting (the `.vv` download, the browser
/// console page, or a "preparing" page that asks again), logging off, and the kiosk page of a
/// pool (`/kiosk/POOL`: log in, the desktop full window, back to the login at the end).
extension PortalRoutes {
    func addDesktops(to router: Router<DeskpoolRequestContext>) {
        router.get("desktops", use: userPage { _, _, login in
            try await desktopsPage(login)
        })
        router.post("desktops/:pool/connect", use: userChange { request, context, login in
            try await connect(request, context, login, console: .spice, kiosk: false)
        })
        router.post("desktops/:pool/browser", use: userChange { request, context, login in
            try await connect(request, context, login, console: .browser, kiosk: false)
        })
        // The kiosk's start: a form the page's script posts at once (a GET changes nothing).
        router.get("kiosk/:pool", use: userPage { _, context, login in
            guard let pool = context.parameters.get("pool"), DeskpoolConfiguration.isSafeName(pool) else {
                return try await desktopsPage(login, alert: "There is no such pool.", status: .notFound)
            }
            let content = PreparingContent(poolName: pool, action: "/kiosk/\(pool)", heading: "Opening your desktop",
                                           message: "Your desktop of pool \(pool) opens in this window.", retryAfter: 1)
            return renderer.response("preparing", PortalPage("Opening your desktop", login: login, content: content))
        })
        router.post("kiosk/:pool", use: userChange { request, context, login in
            try await connect(request, context, login, console: .browser, kiosk: true)
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

    /// A desktop request from a page: the `.vv` download, the console page, or "preparing"
    /// (which posts the same form again); a refusal on My desktops.
    private func connect(_ request: Request, _ context: DeskpoolRequestContext, _ login: LoginSession, console: ConsoleKind,
                         kiosk: Bool) async throws -> Response {
        guard let pool = context.parameters.get("pool"), DeskpoolConfiguration.isSafeName(pool) else {
            return try await desktopsPage(login, alert: "There is no such pool.", status: .notFound)
        }
        let action = kiosk ? "/kiosk/\(pool)" : "/desktops/\(pool)/\(console == .browser ? "browser" : "connect")"
        do {
            switch try await desktops.request(pool: pool, for: login.principal, another: false, clientAddress: context.clientAddress,
                                              console: console) {
            case .file(let grant):
                return DesktopRequests.fileResponse(grant)
            case .browser(let grant):
                return consolePage(grant, login: login, kiosk: kiosk)
            case .preparing(let answer):
                let retry = DesktopRequests.retryAfter(estimate: answer.estimateSeconds)
                let message = "Desktop \(answer.desktop.name) of pool \(pool) is being prepared. This takes about \(answer.estimateSeconds) seconds."
                let content = PreparingContent(poolName: pool, action: action, heading: "Preparing your desktop", message: message,
                                               retryAfter: retry, browser: console == .browser)
                return renderer.response("preparing", PortalPage("Preparing your desktop", login: login, content: content),
                                         status: .accepted, headers: [.retryAfter: String(retry)])
            }
        } catch {
            let failure = failure(error, request: request, context: context)
            // The pool asks for a further login first: its prompts, then back here.
            if failure.body.error.code == DeskpoolError.Code.factorRequired.name, let spec = try await services.broker.store.pool(named: pool) {
                let result = await auth.conversations.beginFactor(pool: spec, login: login, token: context.token ?? "",
                                                                  address: context.clientAddress, logger: context.logger)
                return loginStep(result, user: "", next: kiosk ? "/kiosk/\(pool)" : "/desktops")
            }
            return try await desktopsPage(login, alert: Self.sentence(failure.body.error.message), status: failure.status)
        }
    }

    /// The browser console: noVNC (served from the `novnc` package under `/novnc/`) opens the
    /// gateway's WebSocket relay with the grant's token and password. The page may open
    /// WebSockets to any host (the relay's name is the page's own unless configured).
    private func consolePage(_ grant: ConsoleBroker.BrowserGrant, login: LoginSession, kiosk: Bool) -> Response {
        let content = ConsoleContent(poolName: grant.pool.name, desktopName: grant.desktop.name, relayHost: grant.relayHost ?? "",
                                     relayPort: grant.relayPort, token: grant.token, displayPort: grant.displayPort,
                                     password: grant.password.secret, kiosk: kiosk, fullscreen: kiosk || grant.pool.console.fullscreen)
        var headers = HTTPFields()
        headers[.contentSecurityPolicy] = ContentSecurityPolicy.console
        return renderer.response("console", PortalPage("\(grant.desktop.name) (\(grant.pool.name))", login: login, content: content),
                                 headers: headers)
    }

    func desktopsPage(_ login: LoginSession, alert: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let pools = try await UserRoutes(services: services, desktops: desktops).userPools(for: login.principal)
        var page = PortalPage("My desktops", login: login, alert: alert, content: DesktopsContent(pools))
        page.onDesktops = true
        return renderer.response("desktops", page, status: status)
    }
}
