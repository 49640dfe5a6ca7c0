import DeskpoolCore
import Foundation

/// Decides whether a CONNECT request may have a tunnel, in the order that costs least first:
/// the token's signature and expiry, the broker's route for it, the port, then a slot under
/// the limits. Nothing the client says is used unless the token vouches for it.
struct TunnelAuthorizer: Sendable {
    let key: ConnectTokenKey
    let directory: any ConsoleDirectory
    let ledger: TunnelLedger
    let limits: TunnelLedger.Limits
    let now: @Sendable () -> Date

    /// A request the gateway will tunnel: where to, and the slot it holds.
    struct Authorized: Sendable {
        let token: ConnectToken
        let route: ConsoleRoute
        let port: Int
        let ticket: TunnelTicket
    }

    /// A refusal, with what is known for the log: the token once it verified, and a detail
    /// for the admin (never the token text).
    struct Rejection: Error {
        let refusal: TunnelRefusal
        var token: ConnectToken?
        var route: ConsoleRoute?
        var detail: String?
    }

    /// `browser`: a WebSocket for a browser console, which may reach only the desktop's
    /// browser display (and only when its pool allows browser consoles).
    func authorize(_ request: ConnectRequest, browser: Bool = false) async -> Result<Authorized, Rejection> {
        let token: ConnectToken
        do throws(ConnectToken.Refusal) {
            token = try ConnectToken.verify(request.host, key: key, now: now())
        } catch {
            return .failure(Rejection(refusal: TunnelRefusal(error)))
        }
        let route: ConsoleRoute
        do throws(DeskpoolError) {
            route = try await directory.route(for: token)
        } catch {
            return .failure(Rejection(refusal: .noRoute, token: token, detail: error.description))
        }
        let allowed: Set<Int> = browser ? Set([route.browserPort].compactMap { $0 }) : route.ports
        guard allowed.contains(request.port) else {
            let ports = allowed.isEmpty ? "none" : allowed.sorted().map(String.init).joined(separator: ",")
            return .failure(Rejection(refusal: .portNotAllowed, token: token, route: route,
                                      detail: "port \(request.port), \(browser ? "browser display port" : "display ports") \(ports)"))
        }
        switch ledger.admit(session: token.session, desktop: route.desktop, limits: limits) {
        case .success(let ticket):
            return .success(Authorized(token: token, route: route, port: request.port, ticket: ticket))
        case .failure(let refusal):
            return .failure(Rejection(refusal: refusal, token: token, route: route))
        }
    }
}
