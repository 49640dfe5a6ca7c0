/// The SPICE link preamble as the benchmark's client sends it and its display reads it
/// (spice-protocol's SpiceLinkHeader and SpiceLinkMess, little-endian). The benchmark target
/// does not link CSpiceProtocol; the gateway's tests check these numbers against it.
enum SpiceLink {
    static let headerSize = 16
    static let messageSize = 18
    static let channelTypeOffset = 4
    static let main: UInt8 = 1
    static let display: UInt8 = 2
    static let inputs: UInt8 = 3

    static func bytes(channel: UInt8) -> [UInt8] {
        var bytes: [UInt8] = Array("REDQ".utf8)
        for field: UInt32 in [2, 2, UInt32(messageSize + 4)] { bytes += littleEndian(field) }
        bytes += littleEndian(UInt32(0)) + [channel, 0] // connection_id, channel_type, channel_id
        bytes += littleEndian(UInt32(1)) + littleEndian(UInt32(0)) + littleEndian(UInt32(messageSize)) // caps counts, offset
        bytes += littleEndian(UInt32(0b1011)) // common caps
        return bytes
    }

    /// A link reply of spice-server's size (error, RSA key, capability counts and offset: 178
    /// bytes), all zeros but its header: what the capacity run's stand-in display answers.
    static let reply: [UInt8] = Array("REDQ".utf8) + littleEndian(2) + littleEndian(2) + littleEndian(178) + [UInt8](repeating: 0, count: 178)

    /// The link message's size from a header, if the header is a SPICE link's.
    static func messageSize(header: [UInt8]) -> Int? {
        guard header.count == headerSize, Array(header.prefix(4)) == Array("REDQ".utf8) else { return nil }
        let size = header[12..<16].reversed().reduce(0) { $0 << 8 | Int($1) }
        return (messageSize...4096).contains(size) ? size : nil
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }
}
