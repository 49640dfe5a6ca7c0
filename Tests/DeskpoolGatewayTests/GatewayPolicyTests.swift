import CSpiceProtocol
import DeskpoolCore
import DeskpoolGateway
import Testing

/// Channel filtering, limits and the idle timeout.
@Suite("Gateway policy", .timeLimit(.minutes(1)))
struct GatewayPolicyTests {
    @Test("a forbidden channel (usbredir) is closed and the display receives nothing; display still passes")
    func forbiddenChannel() async throws {
        var options = GatewayHarness.Options()
        options.forbiddenChannels = [.usbredir]
        try await GatewayHarness.run(options) { h in
            let (usb, status) = try await h.tunnel()
            #expect(status == 200)
            try await usb.send(SpiceLinkBytes.link(channelType: SPICE_CHANNEL_USBREDIR) + pattern(1000))
            try await usb.waitUntilClosed()
            // The display side was connected before the 200, and closed with nothing sent.
            let refused = try await h.upstream.connection(0)
            try await refused.waitUntilClosed()
            #expect(refused.received.isEmpty)
            #expect(usb.payload.isEmpty)
            #expect(h.refusals(.forbiddenChannel) == 1)

            let (display, displayStatus) = try await h.tunnel()
            #expect(displayStatus == 200)
            let link = SpiceLinkBytes.link(channelType: SPICE_CHANNEL_DISPLAY)
            try await display.send(link)
            try await display.waitForPayload(count: link.count)
            #expect(try await h.upstream.connection(1).received == link)
            #expect(h.upstream.connections.count == 2)
            let session = try #require(h.gateway.statistics().sessions["session-1"])
            #expect(session.channels == [.spice(.display): 1])
        }
    }

    @Test("a WebSocket upgrade (or any bytes neither SPICE nor TLS) after the 200 is closed; the display receives nothing",
          arguments: [
              "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
              "SSH-2.0-OpenSSH_9.2\r\n",
          ])
    func notSpiceBytes(first: String) async throws {
        var options = GatewayHarness.Options()
        options.forbiddenChannels = [.usbredir]
        try await GatewayHarness.run(options) { h in
            let (tunnel, status) = try await h.tunnel()
            #expect(status == 200)
            // What a WebSocket client would send next: the usbredir link inside a frame.
            try await tunnel.send(Array(first.utf8) + SpiceLinkBytes.link(channelType: SPICE_CHANNEL_USBREDIR))
            try await tunnel.waitUntilClosed()
            let refused = try await h.upstream.connection(0)
            try await refused.waitUntilClosed()
            #expect(refused.received.isEmpty)
            #expect(tunnel.payload.isEmpty)
            #expect(h.refusals(.notSpiceLink) == 1)
        }
    }

    @Test("a session's tunnels beyond maxTunnelsPerSession get 429 until one closes")
    func sessionLimit() async throws {
        var options = GatewayHarness.Options()
        options.configuration.maxTunnelsPerSession = 2
        try await GatewayHarness.run(options) { h in
            let (first, s1) = try await h.tunnel()
            let (_, s2) = try await h.tunnel()
            let (extra, s3) = try await h.tunnel()
            #expect([s1, s2, s3] == [200, 200, 429])
            try await extra.waitUntilClosed()
            #expect(h.refusals(.sessionLimit) == 1)
            // Another session is not affected.
            let (_, other) = try await h.tunnel(session: "session-2")
            #expect(other == 200)
            await first.close()
            try await eventually("the slot to be returned") { h.gateway.statistics().sessions["session-1"]?.openTunnels == 1 }
            let (_, again) = try await h.tunnel()
            #expect(again == 200)
        }
    }

    @Test("all tunnels beyond maxTunnels get 503")
    func gatewayLimit() async throws {
        var options = GatewayHarness.Options()
        options.configuration.maxTunnels = 2
        try await GatewayHarness.run(options) { h in
            let (_, s1) = try await h.tunnel(session: "a")
            let (_, s2) = try await h.tunnel(session: "b")
            let (_, s3) = try await h.tunnel(session: "c")
            #expect([s1, s2, s3] == [200, 200, 503])
            #expect(h.refusals(.gatewayLimit) == 1)
        }
    }

    @Test("a tunnel without traffic for idleTimeoutSeconds is closed, both sides")
    func idleTimeout() async throws {
        var options = GatewayHarness.Options()
        options.configuration.idleTimeoutSeconds = 1
        options.upstream = .silent
        try await GatewayHarness.run(options) { h in
            let (client, status) = try await h.tunnel()
            #expect(status == 200)
            let link = SpiceLinkBytes.link(channelType: SPICE_CHANNEL_DISPLAY)
            // The tunnel's last traffic is the gateway reading these bytes, which is after
            // `sent`: the idle timeout counts from there (not from when the test saw them
            // arrive upstream, which a busy machine may delay).
            let sent = ContinuousClock.now
            try await client.send(link)
            let display = try await h.upstream.connection(0)
            try await display.waitForBytes(count: link.count)
            try await client.waitUntilClosed(within: .seconds(10))
            let idle = ContinuousClock.now - sent
            #expect(idle >= .milliseconds(900), "closed after \(idle), before the idle timeout")
            try await display.waitUntilClosed()
            #expect(h.gateway.statistics().openTunnels == 0)
        }
    }

    @Test("traffic keeps a tunnel past the idle timeout")
    func trafficKeepsTunnel() async throws {
        var options = GatewayHarness.Options()
        // A byte every 250 ms for 4.5 s against a 3 s idle timeout: a loaded two-core machine
        // may stall a sleeping task for a second or more (a 1 s timeout with 400 ms sends was
        // cut there), so the margin is wide; the tunnel still outlives its idle timeout.
        options.configuration.idleTimeoutSeconds = 3
        try await GatewayHarness.run(options) { h in
            let (client, status) = try await h.tunnel()
            #expect(status == 200)
            try await client.send(SpiceLinkBytes.link(channelType: SPICE_CHANNEL_INPUTS))
            let started = ContinuousClock.now
            var round: UInt8 = 0
            while ContinuousClock.now - started < .milliseconds(4500) {
                try await Task.sleep(for: .milliseconds(250))
                round &+= 1
                try await client.send([round])
            }
            #expect(!client.isClosed)
        }
    }
}
