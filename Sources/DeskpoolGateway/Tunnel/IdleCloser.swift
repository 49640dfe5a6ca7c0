import Logging
import NIOCore

/// Closes a tunnel when the `IdleStateHandler` before it reports no traffic either way for
/// `gateway.idleTimeoutSeconds` (a client that vanished without a FIN, a forgotten console).
/// The glue then closes the desktop side.
final class IdleCloser: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is IdleStateHandler.IdleStateEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        logger.info("closing idle tunnel")
        context.close(promise: nil)
    }
}
