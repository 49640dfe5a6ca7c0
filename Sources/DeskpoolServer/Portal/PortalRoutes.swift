import DeskpoolCore
import Hummingbird

/// The portal (HTML, server-rendered with Mustache): login, My desktops, admin pages.
struct PortalRoutes {
    let services: BrokerServices
    let auth: AuthRoutes
    let desktops: DesktopRequests
    let logins: LoginSessions

    func add(to router: Router<BrokerRequestContext>) {}
}
