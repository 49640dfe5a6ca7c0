import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// After HTTP decoding: closes a connection whose request body is not complete within
/// `bodyTimeout` of its head (a client dripping a body byte by byte), except for requests
/// `isLongUpload` exempts, and tells `RequestHeadGuard` when each request has been read.
final class RequestBodyGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let bodyTimeout: TimeAmount
    let isLongUpload: @Sendable (HTTPRequest) -> Bool
    let logger: Logger
    private var deadline: Scheduled<Void>?
    private var headGuard: RequestHeadGuard?

    init(bodyTimeout: TimeAmount, isLongUpload: @escaping @Sendable (HTTPRequest) -> Bool, logger: Logger) {
        self.bodyTimeout = bodyTimeout
        self.isLongUpload = isLongUpload
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        headGuard = try? context.pipeline.syncOperations.handler(type: RequestHeadGuard.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        headGuard = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            deadline?.cancel()
            deadline = nil
            if !isLongUpload(request) {
                let client = context.channel.remoteAddress?.ipAddress ?? "unknown"
                deadline = context.eventLoop.assumeIsolated().scheduleTask(in: bodyTimeout) { [self] in
                    logger.info("request body not complete in time: connection closed", metadata: ["client": "\(client)"])
                    context.close(promise: nil)
                }
            }
        case .body:
            break
        case .end:
            deadline?.cancel()
            deadline = nil
            headGuard?.requestRead()
        }
        context.fireChannelRead(data)
    }
}
