import DeskpoolCore
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore

/// HTTP/1 with the broker's connection guards: `RequestHeadGuard` before the HTTP decoder
/// (after TLS, when the server is wrapped in `TLSChannel`), `RequestBodyGuard` after it,
/// and Hummingbird's idle timeout.
struct GuardedHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let headerTimeout: TimeAmount
    let counter: AddressConnectionCounter
    let logger: Logger

    init(responder: @escaping HTTPChannelHandler.Responder, configuration: HTTPConnectionConfiguration,
         counter: AddressConnectionCounter, isLongUpload: @escaping @Sendable (HTTPRequest) -> Bool, logger: Logger) {
        let bodyTimeout = TimeAmount.seconds(Int64(configuration.bodyTimeoutSeconds))
        base = HTTP1Channel(responder: responder, configuration: .init(
            additionalChannelHandlers: [RequestBodyGuard(bodyTimeout: bodyTimeout, isLongUpload: isLongUpload, logger: logger)],
            idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds))))
        headerTimeout = .seconds(Int64(configuration.headerTimeoutSeconds))
        self.counter = counter
        self.logger = logger
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                RequestHeadGuard(headerTimeout: headerTimeout, counter: counter, logger: self.logger))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
