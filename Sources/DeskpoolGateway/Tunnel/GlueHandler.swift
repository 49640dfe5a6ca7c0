import NIOCore

/// One half of a pair that splices two channels on the same event loop, after swift-nio's
/// connect-proxy example: what one channel reads the other writes; a channel reads only
/// while its partner can take more (backpressure, so a slow client does not make the gateway
/// buffer a fast display's output); a half-close is passed on as a half-close, and a full
/// close or error closes both.
final class GlueHandler {
    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    /// Counts what this side reads, in this side's direction.
    private let meter: TunnelMeter
    private let direction: TunnelMeter.Direction

    private init(meter: TunnelMeter, direction: TunnelMeter.Direction) {
        self.meter = meter
        self.direction = direction
    }

    /// The client side's handler and the desktop side's, glued to each other.
    static func matchedPair(meter: TunnelMeter) -> (client: GlueHandler, desktop: GlueHandler) {
        let client = GlueHandler(meter: meter, direction: .clientToDesktop)
        let desktop = GlueHandler(meter: meter, direction: .desktopToClient)
        client.partner = desktop
        desktop.partner = client
        return (client, desktop)
    }

    // MARK: - Called by the partner

    private func partnerWrite(_ buffer: ByteBuffer) {
        context?.write(NIOAny(buffer), promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    private func partnerWriteEOF() {
        context?.close(mode: .output, promise: nil)
    }

    private func partnerCloseFull() {
        context?.close(promise: nil)
    }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    private var partnerWritable: Bool {
        context?.channel.isWritable ?? false
    }
}

extension GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        meter.add(buffer.readableBytes, direction)
        partner?.partnerWrite(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerCloseFull()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            // This side sent EOF: pass it on, and keep carrying the other direction.
            partner?.partnerWriteEOF()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        partner?.partnerCloseFull()
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            partner?.partnerBecameWritable()
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if let partner, partner.partnerWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }
}
