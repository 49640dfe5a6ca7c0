import DeskpoolCore
import DeskpoolGateway
import Foundation
import Testing

/// The browser console's WebSocket relay: a GET upgrade to `/console` with a token and the
/// desktop's browser display port, from an allowed page origin, becomes a tunnel whose client
/// side speaks WebSocket frames; everything else is refused before the display is contacted.
@Suite("Gateway WebSocket relay", .timeLimit(.minutes(1)))
struct GatewayWebSocketTests {
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="

    /// An upgrade as a browser sends it (the RFC's sample key).
    static func upgrade(token: String?, port: Int?, origin: String? = "http://127.0.0.1:8080", host: String = "127.0.0.1:8081",
                        path: String = "/console") -> String {
        var query: [String] = []
        if let token { query.append("token=\(token)") }
        if let port { query.append("port=\(port)") }
        var head = "GET \(path)?\(query.joined(separator: "&")) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        if let origin { head += "Origin: \(origin)\r\n" }
        return head + "\r\n"
    }

    /// A client frame: binary (or `opcode`), masked unless told otherwise.
    static func frame(_ payload: [UInt8], opcode: UInt8 = 0x2, masked: Bool = true) -> [UInt8] {
        precondition(payload.count < 126)
        let mask: [UInt8] = [0x37, 0xfa, 0x21, 0x3d]
        var bytes: [UInt8] = [0x80 | opcode, (masked ? 0x80 : 0) | UInt8(payload.count)]
        if masked {
            bytes += mask
            bytes += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        } else {
            bytes += payload
        }
        return bytes
    }

    func expectRefused(_ h: GatewayHarness, _ request: String, status: Int, _ refusal: TunnelRefusal) async throws {
        let client = try await Peer.connect(port: h.port)
        try await client.send(request)
        #expect(try await client.responseStatus() == status)
        try await client.waitUntilClosed()
        #expect(h.refusals(refusal) == 1)
        #expect(h.upstream.connections.isEmpty)
        let record = try #require(h.logs.all.first { $0.message == "refused tunnel" })
        #expect(record.metadata["reason"] == refusal.description)
        #expect(!record.allText.contains(h.token()), "the token never reaches the log")
    }

    @Test("an upgrade with a valid token is answered 101 and relays frames' payload both ways")
    func relays() async throws {
        try await GatewayHarness.run { h in
            let client = try await Peer.connect(port: h.port)
            try await client.send(Self.upgrade(token: h.token(), port: h.upstream.port))
            #expect(try await client.responseStatus() == 101)
            #expect(client.responseHead.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
            try await client.send(Self.frame(Array("RFB 003.008\n".utf8)))
            let display = try await h.upstream.connection()
            try await display.waitForBytes(count: 12)
            #expect(display.received == Array("RFB 003.008\n".utf8), "the display gets the payload, not the frame")
            // The echo comes back as one unmasked binary frame.
            try await client.waitForPayload(count: 14)
            #expect(client.payload == [0x82, 12] + Array("RFB 003.008\n".utf8))
            #expect(h.gateway.statistics().sessions["session-1"]?.channels[.browser] == 1)
        }
    }

    @Test("a ping is answered with a pong and reaches nothing")
    func ping() async throws {
        try await GatewayHarness.run { h in
            let client = try await Peer.connect(port: h.port)
            try await client.send(Self.upgrade(token: h.token(), port: h.upstream.port))
            #expect(try await client.responseStatus() == 101)
            try await client.send(Self.frame([1, 2, 3], opcode: 0x9))
            try await client.waitForPayload(count: 5)
            #expect(client.payload == [0x8a, 3, 1, 2, 3])
        }
    }

    @Test("an unmasked client frame ends the tunnel with a protocol error close")
    func unmasked() async throws {
        try await GatewayHarness.run { h in
            let client = try await Peer.connect(port: h.port)
            try await client.send(Self.upgrade(token: h.token(), port: h.upstream.port))
            #expect(try await client.responseStatus() == 101)
            try await client.send(Self.frame([1, 2, 3], masked: false))
            try await client.waitUntilClosed()
            #expect(client.payload.prefix(4) == [0x88, 2, 0x03, 0xea], "close 1002")
            let display = try await h.upstream.connection()
            #expect(display.received.isEmpty)
        }
    }

    @Test("no token is 400")
    func noToken() async throws {
        try await GatewayHarness.run { h in
            try await expectRefused(h, Self.upgrade(token: nil, port: h.upstream.port), status: 400, .badWebSocketRequest)
        }
    }

    @Test("another path is 405, as any GET was before browser consoles")
    func otherPath() async throws {
        try await GatewayHarness.run { h in
            try await expectRefused(h, Self.upgrade(token: h.token(), port: h.upstream.port, path: "/websockify"), status: 405,
                                    .methodNotAllowed)
        }
    }

    @Test("an expired token is 403")
    func expired() async throws {
        try await GatewayHarness.run { h in
            let token = h.token(validFor: 300)
            h.clock.advance(by: 301)
            try await expectRefused(h, Self.upgrade(token: token, port: h.upstream.port), status: 403, .expiredToken)
        }
    }

    @Test("a token signed by another broker is 403")
    func badSignature() async throws {
        try await GatewayHarness.run { h in
            try await expectRefused(h, Self.upgrade(token: h.token(signedWith: .random()), port: h.upstream.port), status: 403, .badSignature)
        }
    }

    @Test("a token whose session ended (logged off, or the desktop is another user's now) is 403")
    func endedSession() async throws {
        try await GatewayHarness.run { h in
            h.directory.end(session: "session-1")
            try await expectRefused(h, Self.upgrade(token: h.token(session: "session-1"), port: h.upstream.port), status: 403, .noRoute)
        }
    }

    @Test("a page of another origin is 403", arguments: ["http://evil.example.org", "null", "https://127.0.0.1.evil.example.org:8080"])
    func wrongOrigin(origin: String) async throws {
        try await GatewayHarness.run { h in
            try await expectRefused(h, Self.upgrade(token: h.token(), port: h.upstream.port, origin: origin), status: 403, .originNotAllowed)
        }
    }

    @Test("no Origin is 403")
    func noOrigin() async throws {
        try await GatewayHarness.run { h in
            try await expectRefused(h, Self.upgrade(token: h.token(), port: h.upstream.port, origin: nil), status: 403, .originNotAllowed)
        }
    }

    @Test("with allowedOrigins, exactly those origins are accepted")
    func allowedOrigins() async throws {
        var options = GatewayHarness.Options()
        options.configuration.allowedOrigins = ["https://desktops.example.org"]
        try await GatewayHarness.run(options) { h in
            let client = try await Peer.connect(port: h.port)
            try await client.send(Self.upgrade(token: h.token(), port: h.upstream.port, origin: "https://desktops.example.org"))
            #expect(try await client.responseStatus() == 101)
            _ = try await h.upstream.connection()  // the display has the accepted page's connection
            let other = try await Peer.connect(port: h.port)
            try await other.send(Self.upgrade(token: h.token(), port: h.upstream.port, origin: "http://127.0.0.1:8080"))
            #expect(try await other.responseStatus() == 403)
            try await other.waitUntilClosed()
            #expect(h.refusals(.originNotAllowed) == 1)
            #expect(h.upstream.connections.count == 1, "the refused page reached no display")
        }
    }

    @Test("a port other than the desktop's browser display (its SPICE port too) is 403")
    func otherPort() async throws {
        var options = GatewayHarness.Options()
        options.extraPorts = [5930]
        try await GatewayHarness.run(options) { h in
            try await expectRefused(h, Self.upgrade(token: h.token(), port: 5930), status: 403, .portNotAllowed)
        }
    }

    @Test("a desktop without a browser display is 403 for every port")
    func noBrowserDisplay() async throws {
        var options = GatewayHarness.Options()
        options.browserDisplay = false
        try await GatewayHarness.run(options) { h in
            try await expectRefused(h, Self.upgrade(token: h.token(), port: h.upstream.port), status: 403, .portNotAllowed)
        }
    }

    @Test("a browser console closes when its session ends (the display itself would keep it)")
    func closedAtSessionEnd() async throws {
        try await GatewayHarness.run { h in
            let client = try await Peer.connect(port: h.port)
            try await client.send(Self.upgrade(token: h.token(session: "session-1"), port: h.upstream.port))
            #expect(try await client.responseStatus() == 101)
            let display = try await h.upstream.connection()
            try await Task.sleep(for: .milliseconds(300))
            #expect(!client.isClosed, "open while the session lasts")
            h.directory.end(session: "session-1")
            try await client.waitUntilClosed(within: .seconds(15))
            try await display.waitUntilClosed(within: .seconds(15))
            #expect(h.logs.all.contains { $0.message == "closing browser console: its session ended" })
        }
    }

    @Test("a CONNECT cannot reach the browser display's tunnel kind: a SPICE CONNECT to it still needs a SPICE link")
    func connectStillSpice() async throws {
        try await GatewayHarness.run { h in
            let (client, status) = try await h.tunnel()
            #expect(status == 200)
            try await client.send("RFB 003.008\n")
            try await client.waitUntilClosed()
            #expect(h.refusals(.notSpiceLink) == 1)
        }
    }
}
