import DeskpoolCore
import Foundation
import Hummingbird
import HTTPTypes

/// `GET /metrics`: the registry's counters and histograms, then state read at scrape time:
/// desktops by pool and state, sessions, login sessions and the SPICE gateway's tunnels.
struct MetricsRoutes {
    let services: BrokerServices
    let metrics: ServerMetrics
    let logins: LoginSessions

    func add(to router: Router<DeskpoolRequestContext>) {
        router.get("metrics") { _, _ -> Response in
            var text = String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self)
            text += try await snapshot()
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    func snapshot() async throws -> String {
        var lines: [String] = []
        let pools = try await services.broker.pools()
        let desktops = try await services.broker.desktops(pool: nil)
        lines.append("# HELP deskpool_desktops Desktops by pool and state")
        lines.append("# TYPE deskpool_desktops gauge")
        for pool in pools {
            let mine = desktops.filter { $0.pool == pool.name }
            for state in DesktopState.allCases {
                lines.append("deskpool_desktops{pool=\"\(pool.name)\",state=\"\(state.rawValue)\"} \(mine.filter { $0.state == state }.count)")
            }
        }
        lines.append("# HELP deskpool_sessions Desktop sessions (assigned, connected or disconnected) by pool")
        lines.append("# TYPE deskpool_sessions gauge")
        for pool in pools {
            lines.append("deskpool_sessions{pool=\"\(pool.name)\"} \(desktops.filter { $0.pool == pool.name && $0.state.isInSession }.count)")
        }
        lines.append("# HELP deskpool_login_sessions Logged-in API and portal sessions")
        lines.append("# TYPE deskpool_login_sessions gauge")
        if let count = try? await logins.count() { lines.append("deskpool_login_sessions \(count)") }
        if let tunnels = await services.tunnels() {
            lines += [
                "# HELP deskpool_gateway_tunnels_open SPICE gateway tunnels open now",
                "# TYPE deskpool_gateway_tunnels_open gauge",
                "deskpool_gateway_tunnels_open \(tunnels.open)",
                "# HELP deskpool_gateway_tunnels_total SPICE gateway tunnels admitted since start",
                "# TYPE deskpool_gateway_tunnels_total counter",
                "deskpool_gateway_tunnels_total \(tunnels.total)",
                "# HELP deskpool_gateway_refusals_total SPICE gateway requests refused since start",
                "# TYPE deskpool_gateway_refusals_total counter",
                "deskpool_gateway_refusals_total \(tunnels.refused)",
                "# HELP deskpool_gateway_bytes_total Bytes the SPICE gateway forwarded, by direction",
                "# TYPE deskpool_gateway_bytes_total counter",
                "deskpool_gateway_bytes_total{direction=\"client_to_desktop\"} \(tunnels.bytesClientToDesktop)",
                "deskpool_gateway_bytes_total{direction=\"desktop_to_client\"} \(tunnels.bytesDesktopToClient)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
