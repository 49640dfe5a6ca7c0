/// A snapshot of the gateway's tunnels, for metrics and `deskpool` status pages.
///
/// Byte counts are what the gateway forwarded; a tunnel's bytes are included while it is
/// open. Totals cover the gateway's whole run; `sessions` keeps a session after its last
/// tunnel closed until 1024 newer idle sessions push it out.
public struct GatewayStatistics: Sendable, Hashable {
    /// Tunnels holding a slot now (connecting to the display, or open).
    public var openTunnels = 0
    /// Tunnels admitted since start (after the token, route and limit checks).
    public var totalTunnels = 0
    /// Bytes from clients to desktops (input, USB, audio recording) and back (display,
    /// cursor, audio playback).
    public var bytesClientToDesktop = 0
    public var bytesDesktopToClient = 0
    /// Requests and tunnels refused, by reason.
    public var refusals: [TunnelRefusal: Int] = [:]
    /// Per connect-token session.
    public var sessions: [String: Session] = [:]

    public init() {}

    /// One session's tunnels (each SPICE channel of a console is one tunnel).
    public struct Session: Sendable, Hashable {
        /// The desktop's name, as the broker's route gave it.
        public var desktop: String
        public var openTunnels = 0
        public var totalTunnels = 0
        /// Tunnels by what they carried; a tunnel refused for its channel is not counted here.
        public var channels: [TunnelChannel: Int] = [:]
        public var bytesClientToDesktop = 0
        public var bytesDesktopToClient = 0

        public init(desktop: String) { self.desktop = desktop }
    }
}
