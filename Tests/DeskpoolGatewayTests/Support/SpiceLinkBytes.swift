import CSpiceProtocol
import NIOCore

/// The bytes a SPICE client sends first on a channel: `SpiceLinkHeader`, then `SpiceLinkMess`
/// and its capability words, little-endian, laid out by spice-protocol's definitions.
enum SpiceLinkBytes {
    static func link(channelType: Int, channelID: UInt8 = 0, connectionID: UInt32 = 0x1234_5678,
                     commonCaps: [UInt32] = [0b1011], channelCaps: [UInt32] = [0b1]) -> [UInt8] {
        let messageSize = MemoryLayout<SpiceLinkMess>.size
        let capsSize = 4 * (commonCaps.count + channelCaps.count)
        var buffer = ByteBuffer()
        buffer.writeInteger(deskpool_spice_magic, endianness: .little)
        buffer.writeInteger(UInt32(SPICE_VERSION_MAJOR), endianness: .little)
        buffer.writeInteger(UInt32(SPICE_VERSION_MINOR), endianness: .little)
        buffer.writeInteger(UInt32(messageSize + capsSize), endianness: .little)
        buffer.writeInteger(connectionID, endianness: .little)
        buffer.writeInteger(UInt8(channelType))
        buffer.writeInteger(channelID)
        buffer.writeInteger(UInt32(commonCaps.count), endianness: .little)
        buffer.writeInteger(UInt32(channelCaps.count), endianness: .little)
        buffer.writeInteger(UInt32(messageSize), endianness: .little)
        for cap in commonCaps + channelCaps { buffer.writeInteger(cap, endianness: .little) }
        return Array(buffer.readableBytesView)
    }

    /// The first bytes of a TLS 1.2+ ClientHello record (what a client sends on a TLS port).
    static let tlsClientHello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x30, 0x01, 0x00, 0x00, 0x2c, 0x03, 0x03] + Array(repeating: 0xab, count: 40)
}
