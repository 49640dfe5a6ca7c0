import CSpiceProtocol
import DeskpoolCore
import DeskpoolGateway
import Testing

@Suite("Gateway tunnels", .timeLimit(.minutes(1)))
struct GatewayTunnelTests {
    @Test("a valid token tunnels both ways; the display link reaches the display byte-exact")
    func tunnelsBothWays() async throws {
        try await GatewayHarness.run { h in
            let (client, status) = try await h.tunnel()
            #expect(status == 200)
            #expect(client.responseHead == "HTTP/1.1 200 Connection established\r\n\r\n")
            let link = SpiceLinkBytes.link(channelType: SPICE_CHANNEL_DISPLAY)
            let data = pattern(20_000, seed: 7)
            try await client.send(link)
            try await client.send(data)
            let display = try await h.upstream.connection(0)
            try await display.waitForBytes(count: link.count + data.count)
            #expect(display.received == link + data)
            // The stub display echoes: the same bytes come back through the gateway.
            try await client.waitForPayload(count: link.count + data.count)
            #expect(client.payload == link + data)
            #expect(h.upstream.connections.count == 1)
            await client.close()
            try await display.waitUntilClosed()
        }
    }

    @Test("the address book maps the gateway's display socket to the client while the tunnel is open")
    func addressBook() async throws {
        try await GatewayHarness.run { h in
            let (client, status) = try await h.tunnel()
            #expect(status == 200)
            try await client.send(SpiceLinkBytes.link(channelType: SPICE_CHANNEL_MAIN))
            let display = try await h.upstream.connection(0)
            // What libvirt would report as the SPICE client: the gateway's socket.
            let gatewaySocket = try #require(display.remoteAddress)
            let clientAddress = try #require(client.localAddress)
            #expect(gatewaySocket.hasPrefix("127.0.0.1:"))
            #expect(h.addresses.client(behind: gatewaySocket) == clientAddress)
            await client.close()
            try await eventually("the entry to be forgotten") { h.addresses.client(behind: gatewaySocket) == gatewaySocket }
        }
    }

    @Test("statistics count each direction's bytes, the channel, and the session's tunnels")
    func statistics() async throws {
        var options = GatewayHarness.Options()
        options.upstream = .respond(count: 100_000)
        try await GatewayHarness.run(options) { h in
            let (client, status) = try await h.tunnel(session: "s-stats")
            #expect(status == 200)
            let link = SpiceLinkBytes.link(channelType: SPICE_CHANNEL_DISPLAY)
            try await client.send(link + pattern(5_000))
            try await client.waitForPayload(count: 100_000)
            let display = try await h.upstream.connection(0)
            try await display.waitForBytes(count: link.count + 5_000)

            let open = h.gateway.statistics()
            let session = try #require(open.sessions["s-stats"])
            #expect(session.desktop == "desk-01")
            #expect(session.bytesClientToDesktop == link.count + 5_000)
            #expect(session.bytesDesktopToClient == 100_000)
            #expect(session.channels == [.spice(.display): 1])
            #expect(session.openTunnels == 1 && session.totalTunnels == 1)
            #expect(open.openTunnels == 1 && open.totalTunnels == 1)
            #expect(open.bytesClientToDesktop == link.count + 5_000 && open.bytesDesktopToClient == 100_000)

            await client.close()
            try await eventually("the tunnel to close") { h.gateway.statistics().openTunnels == 0 }
            let closed = h.gateway.statistics()
            #expect(closed.sessions["s-stats"]?.bytesDesktopToClient == 100_000)
            #expect(closed.bytesClientToDesktop == link.count + 5_000)
        }
    }

    @Test("TLS first bytes pass through unfiltered, counted as tls")
    func tlsPassesThrough() async throws {
        var options = GatewayHarness.Options()
        options.forbiddenChannels = Set(SpiceChannel.allCases)
        try await GatewayHarness.run(options) { h in
            let (client, status) = try await h.tunnel()
            #expect(status == 200)
            try await client.send(SpiceLinkBytes.tlsClientHello)
            try await client.waitForPayload(count: SpiceLinkBytes.tlsClientHello.count)
            #expect(try await h.upstream.connection(0).received == SpiceLinkBytes.tlsClientHello)
            #expect(h.gateway.statistics().sessions["session-1"]?.channels == [.tls: 1])
        }
    }

    @Test("logs name the client, desktop and session, never the token text")
    func logs() async throws {
        try await GatewayHarness.run { h in
            let token = h.token()
            let (client, status) = try await h.connect("\(token):\(h.upstream.port)")
            #expect(status == 200)
            try await client.send(SpiceLinkBytes.link(channelType: SPICE_CHANNEL_INPUTS))
            try await client.waitForPayload(count: 1)
            h.clock.advance(by: 600)
            let (_, refused) = try await h.connect("\(token):\(h.upstream.port)")
            #expect(refused == 403)

            let records = h.logs.all
            let labels = Set(token.split(separator: ".").map(String.init))
            for record in records {
                #expect(!labels.contains { record.allText.contains($0) }, "token text in log: \(record.message)")
            }
            let open = try #require(records.first { $0.message == "tunnel open" })
            #expect(open.metadata["desktop"] == "desk-01")
            #expect(open.metadata["session"] == "session-1")
            #expect(open.metadata["channel"] == "inputs")
            #expect(open.metadata["client"] == client.localAddress)
            let refusal = try #require(records.first { $0.message == "refused tunnel" })
            #expect(refusal.level == .warning)
            #expect(refusal.metadata["reason"] == "\(TunnelRefusal.expiredToken)")
            #expect(refusal.metadata["client"]?.hasPrefix("127.0.0.1:") == true)
        }
    }

    @Test("shutdown closes the listener and the open tunnels")
    func shutdown() async throws {
        let (client, port) = try await GatewayHarness.run { h in
            let (client, status) = try await h.tunnel()
            #expect(status == 200)
            try await client.send(SpiceLinkBytes.link(channelType: SPICE_CHANNEL_DISPLAY))
            try await client.waitForPayload(count: 1)
            return (client, h.port)
        }
        // run() returned: the gateway closed the tunnel (the test never closed the client) and
        // the listener.
        try await client.waitUntilClosed()
        await #expect(throws: (any Error).self) { _ = try await Peer.connect(port: port) }
    }
}
