import DeskpoolCore
import NIOCore
import NIOPosix

extension TunnelHandshakeHandler {
    /// Runs the authorizer (it awaits the broker's directory) off the event loop, and comes
    /// back to it with the answer.
    func authorize(_ request: ConnectRequest, context: ChannelHandlerContext) {
        state = .authorizing
        let authorizer = environment.authorizer
        let browser = webSocket != nil
        context.eventLoop.makeFutureWithTask { await authorizer.authorize(request, browser: browser) }
            .assumeIsolated()
            .whenSuccess { [self] result in authorized(result, context: context) }
    }

    private func authorized(_ result: Result<TunnelAuthorizer.Authorized, TunnelAuthorizer.Rejection>, context: ChannelHandlerContext) {
        let tunnel: TunnelAuthorizer.Authorized
        switch result {
        case .failure(let rejection):
            describe(token: rejection.token, route: rejection.route)
            guard case .authorizing = state else { return }
            return refuse(rejection.refusal, detail: rejection.detail, context: context)
        case .success(let authorized):
            tunnel = authorized
        }
        // The slot is returned when the client connection closes, whatever closes it (and at
        // once if it closed while the route was looked up).
        context.channel.closeFuture.whenComplete { _ in tunnel.ticket.release() }
        describe(token: tunnel.token, route: tunnel.route)
        guard case .authorizing = state else { return }
        state = .connecting(tunnel)
        let bootstrap = ClientBootstrap(group: context.eventLoop)
            .connectTimeout(environment.connectTimeout)
            .channelOption(.autoRead, value: false)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: TunnelSocketOptions.receiveAllocator)
            .channelOption(.writeBufferWaterMark, value: TunnelSocketOptions.writeBufferWaterMark)
        // An IP address (the usual console address) is connected to directly: a host name
        // goes through the resolver and Happy Eyeballs, which cost a tunnel's opening ~0.5 ms.
        let connecting = (try? SocketAddress(ipAddress: tunnel.route.address, port: tunnel.port)).map { bootstrap.connect(to: $0) }
            ?? bootstrap.connect(host: tunnel.route.address, port: tunnel.port)
        connecting
            .assumeIsolated()
            .whenComplete { [self] result in connected(result, tunnel: tunnel, context: context) }
    }

    private func connected(_ result: Result<any Channel, any Error>, tunnel: TunnelAuthorizer.Authorized, context: ChannelHandlerContext) {
        let upstream: any Channel
        switch result {
        case .failure(let error):
            guard case .connecting = state else { return }
            return refuse(.upstreamUnreachable, detail: "\(tunnel.route.address):\(tunnel.port): \(error)", context: context)
        case .success(let channel):
            upstream = channel
        }
        guard case .connecting = state else {
            upstream.close(promise: nil)
            return
        }
        let clientChannel = context.channel
        // Recorded first, so that it is forgotten before the socket closes and its port is free.
        recordAddress(of: upstream, clientChannel: clientChannel)
        // Either side closing closes the other, from here on and through the splice.
        upstream.closeFuture.whenComplete { _ in clientChannel.close(promise: nil) }
        clientChannel.closeFuture.whenComplete { _ in upstream.close(promise: nil) }

        if let webSocket { return spliceWebSocket(webSocket, tunnel: tunnel, upstream: upstream, context: context) }
        state = .readingLink(tunnel, upstream: upstream)
        let answer = "HTTP/1.1 200 Connection established\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: answer)), promise: nil)
        inspectLink(context: context)
    }

    /// libvirt's graphics events name the gateway's socket as the console client: tell the
    /// session tracker who is really behind it, for as long as the tunnel lasts.
    private func recordAddress(of upstream: any Channel, clientChannel: any Channel) {
        guard let local = upstream.localAddress?.hostPort, client != "unknown" else { return }
        let addresses = environment.addresses
        addresses.record(gatewaySocket: local, client: client)
        clientChannel.closeFuture.whenComplete { _ in addresses.forget(gatewaySocket: local) }
    }

    /// Adds what is known of the tunnel to the log metadata: ids and names, never the token.
    private func describe(token: ConnectToken?, route: ConsoleRoute?) {
        if let token {
            logger[metadataKey: "session"] = "\(token.session)"
            logger[metadataKey: "desktop"] = "\(token.desktop)"
        }
        if let route {
            logger[metadataKey: "desktop"] = "\(route.desktop)"
            logger[metadataKey: "pool"] = "\(route.pool)"
        }
    }
}
