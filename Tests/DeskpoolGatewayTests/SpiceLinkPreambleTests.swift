import CSpiceProtocol
import DeskpoolCore
@testable import DeskpoolGateway
import NIOCore
import Testing

@Suite("SPICE link preamble")
struct SpiceLinkPreambleTests {
    @Test("SpiceChannel's raw values are spice-protocol's SPICE_CHANNEL_* numbers")
    func channelNumbers() {
        let c: [SpiceChannel: Int] = [
            .main: SPICE_CHANNEL_MAIN, .display: SPICE_CHANNEL_DISPLAY, .inputs: SPICE_CHANNEL_INPUTS,
            .cursor: SPICE_CHANNEL_CURSOR, .playback: SPICE_CHANNEL_PLAYBACK, .record: SPICE_CHANNEL_RECORD,
            .tunnel: SPICE_CHANNEL_TUNNEL, .smartcard: SPICE_CHANNEL_SMARTCARD, .usbredir: SPICE_CHANNEL_USBREDIR,
            .port: SPICE_CHANNEL_PORT, .webdav: SPICE_CHANNEL_WEBDAV,
        ]
        #expect(c.count == SpiceChannel.allCases.count)
        #expect(SpiceChannel.allCases.count == SPICE_END_CHANNEL - 1)
        for channel in SpiceChannel.allCases {
            #expect(Int(channel.rawValue) == c[channel], "\(channel)")
        }
    }

    @Test("the preamble is spice-protocol's header and fixed link message")
    func layout() {
        #expect(SpiceLinkPreamble.length == MemoryLayout<SpiceLinkHeader>.size + MemoryLayout<SpiceLinkMess>.size)
        #expect(SpiceLinkPreamble.length == 16 + 18)
        #expect(Array("REDQ".utf8) == withUnsafeBytes(of: deskpool_spice_magic.littleEndian) { Array($0) })
    }

    @Test("a display link is read field by field")
    func displayLink() {
        let bytes = SpiceLinkBytes.link(channelType: SPICE_CHANNEL_DISPLAY, channelID: 2, connectionID: 0xdead_beef)
        guard case .link(let link) = SpiceLinkPreamble.inspect(ByteBuffer(bytes: bytes)) else {
            Issue.record("not read as a link")
            return
        }
        #expect(link.channel == .spice(.display))
        #expect(link.channelID == 2)
        #expect(link.connectionID == 0xdead_beef)
        #expect(link.majorVersion == UInt32(SPICE_VERSION_MAJOR))
        #expect(Int(link.size) == bytes.count - MemoryLayout<SpiceLinkHeader>.size)
    }

    @Test("partial links wait, other first bytes decide at once")
    func partialAndOther() {
        let bytes = SpiceLinkBytes.link(channelType: SPICE_CHANNEL_USBREDIR)
        for cut in [1, 4, 16, SpiceLinkPreamble.length - 1] {
            #expect(SpiceLinkPreamble.inspect(ByteBuffer(bytes: bytes.prefix(cut))) == .needMore, "\(cut) bytes")
        }
        #expect(SpiceLinkPreamble.inspect(ByteBuffer(bytes: SpiceLinkBytes.tlsClientHello.prefix(1))) == .notSpice(.tls))
        #expect(SpiceLinkPreamble.inspect(ByteBuffer(bytes: Array("REX".utf8))) == .notSpice(.unknown))
        #expect(SpiceLinkPreamble.inspect(ByteBuffer(bytes: Array("GET /".utf8))) == .notSpice(.unknown))
    }

    @Test("a link whose size cannot hold the message is malformed; an unknown type is named by number")
    func malformedAndUnknown() {
        var short = SpiceLinkBytes.link(channelType: SPICE_CHANNEL_MAIN)
        short[12] = 5; short[13] = 0; short[14] = 0; short[15] = 0
        #expect(SpiceLinkPreamble.inspect(ByteBuffer(bytes: short)) == .malformed)
        let future = SpiceLinkBytes.link(channelType: 42)
        guard case .link(let link) = SpiceLinkPreamble.inspect(ByteBuffer(bytes: future)) else {
            Issue.record("not read as a link")
            return
        }
        #expect(link.channel == .unknownSpice(42))
        #expect("\(link.channel)" == "spice-42")
    }
}
