import Logging
import NIOCore

/// Takes one client connection from accept to a spliced tunnel: reads the CONNECT head, has
/// the request authorized, connects to the desktop's display, answers 200, reads the SPICE
/// link preamble and checks its channel type, then hands both channels to a `GlueHandler`
/// pair and leaves the pipeline. A browser console's WebSocket upgrade (a GET) goes the same
/// way to the desktop's browser display, answered 101, with WebSocket framing before the glue.
///
/// The client channel has auto-read off until the splice, so the handler reads only what it
/// needs: at most the 8 KiB head and the link preamble, plus what one read brings beyond them.
final class TunnelHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        case idle
        case readingHead
        case authorizing
        case connecting(TunnelAuthorizer.Authorized)
        case readingLink(TunnelAuthorizer.Authorized, upstream: any Channel)
        case spliced
        /// A refusal was answered and the output shut: reading (and dropping) what the client
        /// still sends, so that closing does not reset the connection before it reads the answer.
        case draining(remaining: Int)
        case closed
    }

    /// Bytes kept from the client beyond the head while the route is looked up.
    static let maximumEarlyBytes = 64 * 1024
    static let maximumDrainedBytes = 64 * 1024
    static let drainTimeout = TimeAmount.seconds(2)

    let environment: TunnelEnvironment
    var logger: Logger
    var state = State.idle
    /// What the client sent that is not consumed yet: the head, then the link preamble.
    var received: ByteBuffer?
    var scanner = HeadScanner()
    var deadline: Scheduled<Void>?
    var client = "unknown"
    /// Set for a browser console's WebSocket upgrade (nil: a SPICE CONNECT).
    var webSocket: WebSocketRequest?

    init(environment: TunnelEnvironment) {
        self.environment = environment
        self.logger = environment.logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard case .idle = state else { return }
        state = .readingHead
        client = context.channel.remoteAddress?.hostPort ?? "unknown"
        logger[metadataKey: "client"] = "\(client)"
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: environment.handshakeTimeout) { [self] in
            timedOut(context: context)
        }
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch state {
        case .idle, .closed:
            return
        case .spliced:
            context.fireChannelRead(data)
        case .draining(let remaining):
            let left = remaining - bytes.readableBytes
            if left <= 0 { context.close(promise: nil) } else { state = .draining(remaining: left); context.read() }
        case .readingHead:
            append(&bytes)
            readHead(context: context)
        case .authorizing, .connecting:
            append(&bytes)
            if let received, received.readableBytes > Self.maximumEarlyBytes { context.close(promise: nil) }
        case .readingLink:
            append(&bytes)
            inspectLink(context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, case .inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // The client stopped sending before its tunnel was up: there is nothing to carry.
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        state = .closed
        received = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("client connection failed", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func append(_ bytes: inout ByteBuffer) {
        if received == nil { received = bytes } else { received?.writeBuffer(&bytes) }
    }

    private func readHead(context: ChannelHandlerContext) {
        guard let head = received else { return context.read() }
        switch scanner.scan(head.readableBytesView) {
        case .incomplete:
            context.read()
        case .tooLarge:
            refuse(.requestTooLarge, context: context)
        case .complete(let length):
            let text = String(decoding: head.readableBytesView.prefix(length), as: UTF8.self)
            received?.moveReaderIndex(forwardBy: length + HeadScanner.terminatorLength)
            if WebSocketRequest.isGet(head: text) { return upgrade(head: text, context: context) }
            switch ConnectRequest.parse(head: text) {
            case .failure(let refusal): refuse(refusal, context: context)
            case .success(let request): authorize(request, context: context)
            }
        }
    }

    /// A GET: a browser console's WebSocket upgrade, checked for its form and its page's
    /// origin before the token is.
    private func upgrade(head: String, context: ChannelHandlerContext) {
        switch WebSocketRequest.parse(head: head) {
        case .failure(let refusal):
            refuse(refusal, context: context)
        case .success(let request):
            guard environment.allowsOrigin(request.origin, request.host) else {
                return refuse(.originNotAllowed, detail: "origin \(request.origin.prefix(120)), host \(request.host.prefix(120))", context: context)
            }
            webSocket = request
            authorize(request.connect, context: context)
        }
    }

    func timedOut(context: ChannelHandlerContext) {
        switch state {
        case .readingHead: refuse(.requestTimeout, context: context)
        case .authorizing, .connecting: refuse(.routeTimeout, context: context)
        case .readingLink: refuse(.linkTimeout, context: context)
        case .draining: context.close(promise: nil)
        case .idle, .spliced, .closed: break
        }
    }
}
