import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// After HTTP decoding: closes a connection whose request body is not complete within
/// `bodyTimeout` of its head (a client dripping a body byte by byte), except for requests
/// `isLongUpload` exempts while the server still reads them, and tells `RequestHeadGuard`
/// when each request has been read. Once the server has answered (a 401 to an anonymous
/// "upload", a 413), an exempt body left unread gets the same deadline: the server would
/// otherwise read and drop it for as long as the client sends.
final class RequestBodyGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let bodyTimeout: TimeAmount
    let isLongUpload: @Sendable (HTTPRequest) -> Bool
    let logger: Logger
    private var deadline: Scheduled<Void>?
    private var headGuard: RequestHeadGuard?
    /// Between a request's head and its end.
    private var readingBody = false

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
            readingBody = true
            if !isLongUpload(request) { startDeadline(context: context) }
        case .body:
            break
        case .end:
            deadline?.cancel()
            deadline = nil
            readingBody = false
            headGuard?.requestRead()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data), readingBody, deadline == nil { startDeadline(context: context) }
        context.write(data, promise: promise)
    }

    private func startDeadline(context: ChannelHandlerContext) {
        let client = context.channel.remoteAddress?.ipAddress ?? "unknown"
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: bodyTimeout) { [self] in
            logger.info("request body not complete in time: connection closed", metadata: ["client": "\(client)"])
            context.close(promise: nil)
        }
    }
}
