import DeskpoolCore

/// Why the gateway refused a CONNECT request, or cut a tunnel before it carried anything.
/// Each is counted in `GatewayStatistics.refusals` and logged with the client's address.
public enum TunnelRefusal: String, Error, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The request head was not complete within 8 KiB (431).
    case requestTooLarge
    /// The request head did not arrive within the handshake timeout (408).
    case requestTimeout
    /// Not an HTTP/1.x request line with a `host:port` target (400).
    case badRequest
    /// A method other than CONNECT (405): the gateway is not a web proxy.
    case methodNotAllowed
    /// The CONNECT host is not a connect token (403); `CONNECT 10.0.0.5:22` ends here.
    case malformedToken
    /// A connect token not signed with this broker's key (403).
    case badSignature
    /// A connect token past its expiry (403): the `.vv` file is older than `tokenSeconds`.
    case expiredToken
    /// The broker has no console for the token (403): the session ended or moved, or the
    /// desktop is gone or has no display.
    case noRoute
    /// The CONNECT port is not one of the desktop's display ports (403).
    case portNotAllowed
    /// The session already holds `maxTunnelsPerSession` tunnels (429).
    case sessionLimit
    /// The gateway already holds `maxTunnels` tunnels (503).
    case gatewayLimit
    /// The route or the connection to the display took longer than the handshake timeout (504).
    case routeTimeout
    /// The desktop's display refused the connection or could not be reached (502).
    case upstreamUnreachable
    /// After the 200, no SPICE link message (or other first bytes) within the handshake timeout.
    case linkTimeout
    /// After the 200, a SPICE link message too short to name its channel.
    case malformedLink
    /// After the 200, a SPICE link for a channel type the pool's console policy forbids.
    case forbiddenChannel
    /// A GET that is not a complete WebSocket upgrade to `/console` with a token and a port (400).
    case badWebSocketRequest
    /// A WebSocket upgrade from a page whose `Origin` may not use the relay, or without one (403).
    case originNotAllowed
    /// After the 200, first bytes that are neither a SPICE link nor a TLS handshake: for
    /// example a WebSocket upgrade, which spice-server accepts on its plain port and which
    /// would carry the link message inside frames the gateway does not read, past the pool's
    /// channel policy.
    case notSpiceLink

    /// The HTTP status the client is answered with; nil when the refusal comes after the 200,
    /// where the gateway can only close the tunnel.
    public var status: Int? {
        switch self {
        case .requestTooLarge: 431
        case .requestTimeout: 408
        case .badRequest, .badWebSocketRequest: 400
        case .methodNotAllowed: 405
        case .malformedToken, .badSignature, .expiredToken, .noRoute, .portNotAllowed, .originNotAllowed: 403
        case .sessionLimit: 429
        case .gatewayLimit: 503
        case .routeTimeout: 504
        case .upstreamUnreachable: 502
        case .linkTimeout, .malformedLink, .forbiddenChannel, .notSpiceLink: nil
        }
    }

    /// The response's reason phrase: short, and saying no more than the client may know.
    var reasonPhrase: String {
        switch self {
        case .requestTooLarge: "Request Header Fields Too Large"
        case .requestTimeout: "Request Timeout"
        case .badRequest: "Bad Request"
        case .badWebSocketRequest: "Bad WebSocket Request"
        case .originNotAllowed: "Origin Not Allowed"
        case .methodNotAllowed: "Method Not Allowed"
        case .malformedToken: "Not A Connect Token"
        case .badSignature: "Bad Connect Token Signature"
        case .expiredToken: "Connect Token Expired"
        case .noRoute: "No Console For This Token"
        case .portNotAllowed: "Port Not Allowed"
        case .sessionLimit: "Too Many Channels For This Session"
        case .gatewayLimit: "Gateway Full"
        case .routeTimeout: "Gateway Timeout"
        case .upstreamUnreachable: "Console Unreachable"
        case .linkTimeout, .malformedLink, .forbiddenChannel, .notSpiceLink: ""
        }
    }

    /// What the log says.
    public var description: String {
        switch self {
        case .requestTooLarge: "request head larger than 8 KiB"
        case .requestTimeout: "request head not received in time"
        case .badRequest: "not an HTTP/1.x CONNECT host:port request"
        case .badWebSocketRequest: "not a WebSocket upgrade to /console with a token and a port"
        case .originNotAllowed: "the page's Origin may not use the browser console relay"
        case .methodNotAllowed: "method other than CONNECT"
        case .malformedToken: "CONNECT host is not a connect token"
        case .badSignature: "connect token not signed by this broker"
        case .expiredToken: "connect token expired"
        case .noRoute: "no console route for the token"
        case .portNotAllowed: "port is not one of the desktop's display ports"
        case .sessionLimit: "session holds maxTunnelsPerSession tunnels"
        case .gatewayLimit: "gateway holds maxTunnels tunnels"
        case .routeTimeout: "route or display connection not ready in time"
        case .upstreamUnreachable: "cannot connect to the desktop's display"
        case .linkTimeout: "no SPICE link message in time"
        case .malformedLink: "SPICE link message too short"
        case .forbiddenChannel: "SPICE channel forbidden by the pool's console policy"
        case .notSpiceLink: "first bytes are neither a SPICE link nor TLS (a WebSocket upgrade?)"
        }
    }

    /// The complete response, with `Connection: close` (the gateway closes after it).
    var response: String? {
        guard let status else { return nil }
        let allow = self == .methodNotAllowed ? "Allow: CONNECT\r\n" : ""
        return "HTTP/1.1 \(status) \(reasonPhrase)\r\n\(allow)Connection: close\r\nContent-Length: 0\r\n\r\n"
    }

    init(_ refusal: ConnectToken.Refusal) {
        switch refusal {
        case .malformed: self = .malformedToken
        case .badSignature: self = .badSignature
        case .expired: self = .expiredToken
        }
    }
}
