/// A one-time password for a desktop's browser display (VNC): 8 characters from the secure
/// generator, since VNC authentication uses only the first 8 (DES). It opens the display for
/// `console.ticketSeconds`, and the display only listens where the gateway reaches it. Its
/// description is redacted, like `ConsoleTicket`'s.
public struct BrowserConsolePassword: Sendable, Hashable, CustomStringConvertible {
    /// The password itself: for the hypervisor and the console page only.
    public let secret: String

    public init(secret: String) { self.secret = secret }

    /// VNC's limit: characters beyond it are ignored by the server.
    public static let length = 8

    /// A fresh password: 8 of 64 characters, 48 bits.
    public static func mint() -> BrowserConsolePassword {
        BrowserConsolePassword(secret: String(SecureRandom.base64url(byteCount: 6).prefix(length)))
    }

    public var description: String { "<browser console password>" }
}

/// Which kind of console a desktop request asks for.
public enum ConsoleKind: String, Sendable, Hashable, CaseIterable {
    /// A `.vv` file for remote-viewer (SPICE).
    case spice
    /// The browser console page (noVNC over the desktop's VNC display, through the gateway's
    /// WebSocket relay).
    case browser
}
