import CSpiceProtocol
import DeskpoolCore
import NIOCore

/// The start of what a SPICE client sends on a new channel: a `SpiceLinkHeader` (magic
/// "REDQ", protocol version, size of what follows) and the fixed part of the `SpiceLinkMess`
/// that follows it, which names the channel type. All integers are little-endian; sizes and
/// offsets come from spice-protocol's C definitions.
struct SpiceLinkPreamble: Sendable, Hashable {
    var majorVersion: UInt32
    var minorVersion: UInt32
    /// Bytes of link message after the header (the fixed part and the capabilities).
    var size: UInt32
    var connectionID: UInt32
    /// A `SPICE_CHANNEL_*` number.
    var channelType: UInt8
    var channelID: UInt8

    /// Bytes needed to know the channel: the header and the link message's fixed part.
    static let length = MemoryLayout<SpiceLinkHeader>.size + MemoryLayout<SpiceLinkMess>.size

    /// The first byte of a TLS handshake record (ContentType handshake, RFC 8446 5.1).
    static let tlsHandshakeRecord: UInt8 = 0x16

    enum Inspection: Sendable, Hashable {
        /// The bytes so far could still start a SPICE link: read more.
        case needMore
        case link(SpiceLinkPreamble)
        /// The magic matched but the header's size is too small for a link message.
        case malformed
        /// Not a SPICE link: what it looks like instead.
        case notSpice(TunnelChannel)
    }

    /// Looks at the first bytes a client sent after the 200. Decides as soon as the bytes
    /// cannot be a link (first byte not "R"), and otherwise waits for `length` bytes.
    static func inspect(_ bytes: ByteBuffer) -> Inspection {
        let view = bytes.readableBytesView
        let magic = withUnsafeBytes(of: deskpool_spice_magic.littleEndian) { Array($0) }
        guard view.prefix(magic.count).elementsEqual(magic.prefix(view.count)) else {
            return .notSpice(view.first == tlsHandshakeRecord ? .tls : .unknown)
        }
        guard view.count >= length else { return .needMore }
        let header = bytes.readerIndex
        let message = header + MemoryLayout<SpiceLinkHeader>.size
        guard let major = bytes.getInteger(at: header + Header.major, endianness: .little, as: UInt32.self),
              let minor = bytes.getInteger(at: header + Header.minor, endianness: .little, as: UInt32.self),
              let size = bytes.getInteger(at: header + Header.size, endianness: .little, as: UInt32.self),
              let connection = bytes.getInteger(at: message + Message.connectionID, endianness: .little, as: UInt32.self),
              let type = bytes.getInteger(at: message + Message.channelType, as: UInt8.self),
              let id = bytes.getInteger(at: message + Message.channelID, as: UInt8.self)
        else { return .needMore }
        // The display reads `size` bytes of link message: fewer than its fixed part and the
        // channel type the gateway sees is not the one the display would act on.
        guard size >= MemoryLayout<SpiceLinkMess>.size else { return .malformed }
        return .link(SpiceLinkPreamble(majorVersion: major, minorVersion: minor, size: size, connectionID: connection,
                                       channelType: type, channelID: id))
    }

    /// The channel the link asks for.
    var channel: TunnelChannel {
        SpiceChannel(rawValue: channelType).map(TunnelChannel.spice) ?? .unknownSpice(channelType)
    }

    private enum Header {
        static let major = offset(\SpiceLinkHeader.major_version)
        static let minor = offset(\SpiceLinkHeader.minor_version)
        static let size = offset(\SpiceLinkHeader.size)
    }

    private enum Message {
        static let connectionID = offset(\SpiceLinkMess.connection_id)
        static let channelType = offset(\SpiceLinkMess.channel_type)
        static let channelID = offset(\SpiceLinkMess.channel_id)
    }

    /// A stored field's offset in a C struct; only a computed property has none.
    private static func offset<T>(_ field: PartialKeyPath<T>) -> Int {
        guard let offset = MemoryLayout<T>.offset(of: field) else { preconditionFailure("\(field) is not a stored field") }
        return offset
    }
}
