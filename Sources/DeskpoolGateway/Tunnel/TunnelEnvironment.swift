import DeskpoolCore
import Logging
import NIOCore

/// What every tunnel's handshake shares: the authorizer, the books, the address book, the
/// logger and the timeouts. Built once per gateway.
struct TunnelEnvironment: Sendable {
    let authorizer: TunnelAuthorizer
    let ledger: TunnelLedger
    let addresses: ClientAddressBook
    let logger: Logger
    /// From accept to a spliced tunnel: the request head, the route, the display's
    /// connection and the client's first bytes after the 200.
    let handshakeTimeout: TimeAmount
    let connectTimeout: TimeAmount
    /// Nil: tunnels never time out.
    let idleTimeout: TimeAmount?
    /// Whether a page of this origin (first) may open a browser console through the relay
    /// reached at this host (second, the `Host` header).
    let allowsOrigin: @Sendable (String, String) -> Bool
    let browsers: BrowserTunnels
}

extension SocketAddress {
    /// "ip:port" ("[ip]:port" for IPv6), the form `ClientAddressBook` keys, libvirt's
    /// graphics events (as `HypervisorEvent` spells them) and logs use.
    var hostPort: String? {
        guard let ip = ipAddress, let port else { return nil }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
