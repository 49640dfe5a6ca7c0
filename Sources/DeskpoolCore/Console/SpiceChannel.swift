/// SPICE channel types, with the numbers of spice-protocol's `SPICE_CHANNEL_*` (the gateway's
/// tests check them against the C header). Pool console policies name them.
public enum SpiceChannel: UInt8, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case main = 1, display, inputs, cursor, playback, record, tunnel, smartcard, usbredir, port, webdav

    public var description: String { name }

    /// The lower-case name used in pool files and logs.
    public var name: String {
        switch self {
        case .main: "main"
        case .display: "display"
        case .inputs: "inputs"
        case .cursor: "cursor"
        case .playback: "playback"
        case .record: "record"
        case .tunnel: "tunnel"
        case .smartcard: "smartcard"
        case .usbredir: "usbredir"
        case .port: "port"
        case .webdav: "webdav"
        }
    }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}
