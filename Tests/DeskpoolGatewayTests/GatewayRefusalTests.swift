import CSpiceProtocol
import DeskpoolCore
import DeskpoolGateway
import Foundation
import Testing

/// Every CONNECT that must not become a tunnel: the answer, the count, and that the display
/// was never contacted.
@Suite("Gateway refusals", .timeLimit(.minutes(1)))
struct GatewayRefusalTests {
    /// Sends `request` raw, expects `status`, a closed connection, the refusal counted once and
    /// no connection to the display.
    func expectRefused(_ h: GatewayHarness, _ request: String, status: Int, _ refusal: TunnelRefusal) async throws {
        let client = try await Peer.connect(port: h.port)
        try await client.send(request)
        #expect(try await client.responseStatus() == status)
        try await client.waitUntilClosed()
        #expect(h.refusals(refusal) == 1)
        #expect(h.upstream.connections.isEmpty)
        #expect(h.gateway.statistics().totalTunnels == 0)
    }

    @Test("an expired token is 403 (the gateway's clock moved past its expiry)")
    func expired() async throws {
        try await GatewayHarness.run { h in
            let token = h.token(validFor: 300)
            h.clock.advance(by: 301)
            try await expectRefused(h, "CONNECT \(token):\(h.upstream.port) HTTP/1.0\r\n\r\n", status: 403, .expiredToken)
        }
    }

    @Test("the same token is accepted before its expiry")
    func notYetExpired() async throws {
        try await GatewayHarness.run { h in
            let token = h.token(validFor: 300)
            h.clock.advance(by: 299)
            let (_, status) = try await h.connect("\(token):\(h.upstream.port)")
            #expect(status == 200)
        }
    }

    @Test("a token signed with another key is 403")
    func badSignature() async throws {
        try await GatewayHarness.run { h in
            let token = h.token(signedWith: .random())
            try await expectRefused(h, "CONNECT \(token):\(h.upstream.port) HTTP/1.0\r\n\r\n", status: 403, .badSignature)
        }
    }

    @Test("a host that is not a token is 403", arguments: ["garbage", "desk-01.example.org", "[::1]", "aaaa.bbbb"])
    func garbageHost(host: String) async throws {
        try await GatewayHarness.run { h in
            try await expectRefused(h, "CONNECT \(host):\(h.upstream.port) HTTP/1.1\r\nHost: x\r\n\r\n", status: 403, .malformedToken)
        }
    }

    @Test("CONNECT 127.0.0.1:22, or to the display's own port, is 403: never an open proxy")
    func addressesAreNotTokens() async throws {
        try await GatewayHarness.run { h in
            try await expectRefused(h, "CONNECT 127.0.0.1:22 HTTP/1.0\r\n\r\n", status: 403, .malformedToken)
        }
        try await GatewayHarness.run { h in
            try await expectRefused(h, "CONNECT 127.0.0.1:\(h.upstream.port) HTTP/1.0\r\n\r\n", status: 403, .malformedToken)
        }
    }

    @Test("a port that is not one of the route's display ports is 403")
    func portNotAllowed() async throws {
        try await GatewayHarness.run { h in
            try await expectRefused(h, "CONNECT \(h.token()):22 HTTP/1.0\r\n\r\n", status: 403, .portNotAllowed)
        }
    }

    @Test("the directory throwing (session ended, desktop gone) is 403")
    func directoryThrows() async throws {
        var options = GatewayHarness.Options()
        options.directoryError = DeskpoolError(.notFound, "session session-1 is no longer assigned")
        try await GatewayHarness.run(options) { h in
            try await expectRefused(h, "CONNECT \(h.token()):\(h.upstream.port) HTTP/1.0\r\n\r\n", status: 403, .noRoute)
            let record = try #require(h.logs.all.first { $0.message == "refused tunnel" })
            #expect(record.metadata["detail"] == "session session-1 is no longer assigned")
        }
    }

    @Test("GET is 405 with Allow: CONNECT")
    func get() async throws {
        try await GatewayHarness.run { h in
            try await expectRefused(h, "GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n", status: 405, .methodNotAllowed)
        }
    }

    @Test("a request line that is not HTTP/1.x CONNECT host:port is 400")
    func badRequest() async throws {
        try await GatewayHarness.run { h in
            try await expectRefused(h, "CONNECT \(h.token()) HTTP/1.1\r\n\r\n", status: 400, .badRequest)
        }
    }

    @Test("a head over 8 KiB is 431, whether or not it ends", arguments: [false, true])
    func headTooLarge(terminated: Bool) async throws {
        try await GatewayHarness.run { h in
            let filler = String(repeating: "a", count: 9000)
            let request = "CONNECT \(h.token()):\(h.upstream.port) HTTP/1.1\r\nX-Filler: \(filler)" + (terminated ? "\r\n\r\n" : "")
            try await expectRefused(h, request, status: 431, .requestTooLarge)
        }
    }

    @Test("a display that refuses the connection is 502")
    func upstreamUnreachable() async throws {
        // A port in the route that nothing listens on: bind one, note it, close it.
        let closed = try await UpstreamServer.start(behavior: .silent)
        let port = closed.port
        await closed.stop()
        var options = GatewayHarness.Options()
        options.extraPorts = [port]
        try await GatewayHarness.run(options) { h in
            let (client, status) = try await h.connect("\(h.token()):\(port)")
            #expect(status == 502)
            try await client.waitUntilClosed()
            #expect(h.refusals(.upstreamUnreachable) == 1)
            // Its slot was returned.
            try await eventually("the slot to be returned") { h.gateway.statistics().openTunnels == 0 }
        }
    }
}
