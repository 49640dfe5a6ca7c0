/// How a pool's desktops are reached (`console:` in a pool file): ticket lifetime, takeover,
/// the gateway, and what the `.vv` file lets the client do. Features switched off here are
/// also refused by the SPICE gateway at the channel level.
public struct ConsoleSettings: Sendable, Hashable, Codable {
    public enum Takeover: String, Sendable, Hashable, Codable, CaseIterable {
        /// A new request for a desktop someone is connected to drops the earlier client.
        case disconnect
        /// A new request is refused while a client is connected.
        case refuse
    }

    /// Seconds a console ticket opens the console after it was issued (1-300).
    public var ticketSeconds = 30
    public var takeover = Takeover.disconnect
    /// Whether clients connect through the broker's SPICE gateway (when it runs).
    public var gateway = true
    /// Start remote-viewer full screen.
    public var fullscreen = false
    public var toggleFullscreenKey = "shift+f11"
    public var releaseCursorKey = "shift+f12"
    /// Sends ctrl+alt+del to the guest.
    public var secureAttentionKey = "ctrl+alt+end"
    /// USB redirection from the client; off by default (data leaves through USB sticks).
    public var usbRedirection = false
    /// Redirect matching devices as soon as they are plugged in.
    public var usbAutoShare = false
    /// virt-viewer's USB filter: rules `class,vendor,product,version,allow` joined by `|`.
    public var usbFilter = "-1,-1,-1,-1,1"
    public var smartcard = false
    /// The client's microphone (SPICE record channel).
    public var microphone = true
    /// Users may open the desktop in a browser tab (noVNC through the gateway's WebSocket
    /// relay) as well as with remote-viewer.
    public var browser = true

    public init() {}

    /// Channels the gateway refuses for this pool.
    public var forbiddenChannels: Set<SpiceChannel> {
        var channels: Set<SpiceChannel> = []
        if !usbRedirection { channels.insert(.usbredir) }
        if !smartcard { channels.insert(.smartcard) }
        if !microphone { channels.insert(.record) }
        return channels
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case ticketSeconds, takeover, gateway, fullscreen, toggleFullscreenKey, releaseCursorKey, secureAttentionKey
        case usbRedirection, usbAutoShare, usbFilter, smartcard, microphone, browser
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "console")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ticketSeconds = try c.decodeBounded(.ticketSeconds, 1...300) ?? ticketSeconds
        if let text = try c.decodeIfPresent(String.self, forKey: .takeover) {
            guard let value = Takeover(rawValue: text) else {
                throw try c.superDecoder(forKey: .takeover).invalid("console.takeover must be disconnect or refuse, not '\(text)'")
            }
            takeover = value
        }
        for (key, path) in [(CodingKeys.gateway, \Self.gateway), (.fullscreen, \.fullscreen), (.usbRedirection, \.usbRedirection),
                            (.usbAutoShare, \.usbAutoShare), (.smartcard, \.smartcard), (.microphone, \.microphone),
                            (.browser, \.browser)] {
            if let value = try c.decodeIfPresent(Bool.self, forKey: key) { self[keyPath: path] = value }
        }
        for (key, path) in [(CodingKeys.toggleFullscreenKey, \Self.toggleFullscreenKey), (.releaseCursorKey, \.releaseCursorKey),
                            (.secureAttentionKey, \.secureAttentionKey)] {
            if let value = try c.decodeIfPresent(String.self, forKey: key) {
                guard Self.isHotkey(value) else {
                    throw try c.superDecoder(forKey: key).invalid("console.\(key.stringValue) must be keys joined by '+', such as ctrl+alt+end")
                }
                self[keyPath: path] = value
            }
        }
        if let filter = try c.decodeIfPresent(String.self, forKey: .usbFilter) {
            guard Self.isUSBFilter(filter) else {
                throw try c.superDecoder(forKey: .usbFilter).invalid("console.usbFilter must be rules class,vendor,product,version,allow joined by '|'")
            }
            usbFilter = filter
        }
    }

    /// Key names (letters, digits) joined by `+`: nothing that could end a `.vv` line or key.
    static func isHotkey(_ text: String) -> Bool {
        let keys = text.split(separator: "+", omittingEmptySubsequences: false)
        return !keys.isEmpty && keys.count <= 5 && keys.allSatisfy { !$0.isEmpty && $0.count <= 16 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }

    /// `class,vendor,product,version,allow` rules of -1 or (hex) numbers, joined by `|`.
    static func isUSBFilter(_ text: String) -> Bool {
        let rules = text.split(separator: "|", omittingEmptySubsequences: false)
        return !rules.isEmpty && rules.count <= 32 && rules.allSatisfy { rule in
            let fields = rule.split(separator: ",", omittingEmptySubsequences: false)
            return fields.count == 5 && fields.allSatisfy { field in
                field == "-1" || (!field.isEmpty && field.count <= 6 && field.allSatisfy { $0.isHexDigit || $0 == "x" })
            }
        }
    }
}
