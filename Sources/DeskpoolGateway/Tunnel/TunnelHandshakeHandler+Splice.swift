import Logging
import NIOCore
import NIOWebSocket

extension TunnelHandshakeHandler {
    /// Decides from the client's first bytes after the 200 what the tunnel carries, refuses a
    /// forbidden SPICE channel before anything reaches the display, and splices otherwise.
    func inspectLink(context: ChannelHandlerContext) {
        guard case .readingLink(let tunnel, let upstream) = state else { return }
        guard let bytes = received, bytes.readableBytes > 0 else { return context.read() }
        let channel: TunnelChannel
        switch SpiceLinkPreamble.inspect(bytes) {
        case .needMore:
            return context.read()
        case .malformed:
            return refuse(.malformedLink, context: context)
        case .notSpice(.tls):
            channel = .tls
        case .notSpice:
            // Anything else would reach the display unread (spice-server even answers a
            // WebSocket upgrade on its plain port), so the channel policy could not hold.
            return refuse(.notSpiceLink, context: context)
        case .link(let link):
            channel = link.channel
        }
        logger[metadataKey: "channel"] = "\(channel)"
        if case .spice(let spice) = channel, tunnel.route.forbiddenChannels.contains(spice) {
            return refuse(.forbiddenChannel, context: context)
        }
        splice(tunnel, upstream: upstream, channel: channel, context: context)
    }

    /// A browser console: answers 101 and splices with WebSocket framing on the client side
    /// (binary frames' payload to the display, the display's bytes back in binary frames).
    func spliceWebSocket(_ request: WebSocketRequest, tunnel: TunnelAuthorizer.Authorized, upstream: any Channel,
                         context: ChannelHandlerContext) {
        environment.browsers.insert(context.channel, token: tunnel.token)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request.acceptResponse)), promise: nil)
        splice(tunnel, upstream: upstream, channel: .browser, context: context, framing: [
            ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: Self.maximumWebSocketFrame)),
            WebSocketFrameEncoder(),
            WebSocketProtocolErrorHandler(),
            WebSocketRelayHandler(),
        ])
    }

    /// The largest frame a browser console may send: noVNC's are input events, a few bytes.
    static let maximumWebSocketFrame = 1 << 20

    private func splice(_ tunnel: TunnelAuthorizer.Authorized, upstream: any Channel, channel: TunnelChannel, context: ChannelHandlerContext,
                        framing: [any ChannelHandler] = []) {
        deadline?.cancel()
        tunnel.ticket.identify(channel)
        let meter = tunnel.ticket.meter
        let glue = GlueHandler.matchedPair(meter: meter)
        do {
            let pipeline = context.pipeline.syncOperations
            if let idle = environment.idleTimeout {
                // On the client side it sees both directions: reads from the client, writes of
                // the display's output to it.
                try pipeline.addHandler(IdleStateHandler(allTimeout: idle))
                try pipeline.addHandler(IdleCloser(logger: logger))
            }
            for handler in framing { try pipeline.addHandler(handler) }
            try pipeline.addHandler(glue.client)
            try upstream.pipeline.syncOperations.addHandler(glue.desktop)
        } catch {
            logger.error("cannot splice tunnel", metadata: ["error": "\(error)"])
            return context.close(promise: nil)
        }
        if let bytes = received, bytes.readableBytes > 0 {
            if framing.isEmpty {
                // The link preamble (and whatever came with it) goes first, exactly as received.
                meter.add(bytes.readableBytes, .clientToDesktop)
                upstream.writeAndFlush(bytes, promise: nil)
            } else {
                // Frames sent right after the upgrade: through the framing like the rest.
                context.fireChannelRead(NIOAny(bytes))
            }
        }
        received = nil
        state = .spliced

        let logger = self.logger
        logger.info("tunnel open", metadata: ["upstream": "\(tunnel.route.address):\(tunnel.port)"])
        context.channel.closeFuture.whenComplete { _ in
            let bytes = meter.bytes
            logger.info("tunnel closed", metadata: [
                "bytes.clientToDesktop": "\(bytes.clientToDesktop)", "bytes.desktopToClient": "\(bytes.desktopToClient)",
            ])
        }
        // From here the glue pair decides when each side reads.
        context.channel.setOption(.autoRead, value: true).whenFailure { _ in }
        upstream.setOption(.autoRead, value: true).whenFailure { _ in }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// Counts and logs a refusal, answers it when the client still waits for an answer, and
    /// closes (or, after an answer, shuts the output and drains, then closes).
    func refuse(_ refusal: TunnelRefusal, detail: String? = nil, context: ChannelHandlerContext) {
        deadline?.cancel()
        received = nil
        environment.ledger.count(refusal)
        var metadata: Logger.Metadata = ["reason": "\(refusal)"]
        if let detail { metadata["detail"] = "\(detail)" }
        if let status = refusal.status { metadata["status"] = "\(status)" }
        logger.log(level: refusal.logLevel, "refused tunnel", metadata: metadata)

        guard let response = refusal.response else {
            state = .closed
            return context.close(promise: nil)
        }
        state = .draining(remaining: Self.maximumDrainedBytes)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: response)), promise: nil)
        context.close(mode: .output, promise: nil)
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: Self.drainTimeout) { [self] in
            timedOut(context: context)
        }
        context.read()
    }
}

extension TunnelRefusal {
    /// Token, route and policy refusals are what an admin looks for (an attack, a stale
    /// `.vv`, a misconfigured pool); protocol noise and timeouts are routine.
    var logLevel: Logger.Level {
        switch self {
        case .malformedToken, .badSignature, .expiredToken, .noRoute, .portNotAllowed, .sessionLimit, .gatewayLimit, .forbiddenChannel,
             .notSpiceLink, .originNotAllowed:
            .warning
        case .upstreamUnreachable, .routeTimeout:
            .error
        case .requestTooLarge, .requestTimeout, .badRequest, .methodNotAllowed, .linkTimeout, .malformedLink, .badWebSocketRequest:
            .info
        }
    }
}
