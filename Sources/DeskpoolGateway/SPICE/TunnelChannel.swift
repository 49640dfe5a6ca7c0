public import DeskpoolCore

/// What a tunnel carries, as far as the gateway can tell from the client's first bytes.
public enum TunnelChannel: Sendable, Hashable, CustomStringConvertible {
    /// A SPICE channel on a plaintext port: the link message names its type.
    case spice(SpiceChannel)
    /// A SPICE link message for a channel type this build does not know (a newer client).
    case unknownSpice(UInt8)
    /// A TLS handshake: a TLS port, whose channel type is encrypted, so it is not filtered.
    case tls
    /// Neither a SPICE link nor TLS (a WebSocket upgrade, another protocol): refused.
    case unknown
    /// A browser console: the desktop's VNC display through the WebSocket relay.
    case browser

    /// The label in logs and statistics: the SPICE channel name, `spice-N`, `tls` or `unknown`.
    public var description: String {
        switch self {
        case .spice(let channel): channel.name
        case .unknownSpice(let type): "spice-\(type)"
        case .tls: "tls"
        case .unknown: "unknown"
        case .browser: "browser"
        }
    }
}
