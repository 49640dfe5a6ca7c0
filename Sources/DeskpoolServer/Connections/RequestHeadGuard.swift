import Logging
import NIOCore

/// The first handler after TLS on every HTTP connection: it caps connections per client
/// address and closes a connection whose request head (request line and headers) is not
/// complete within `headerTimeout` of its first byte, or of the connection's opening for the
/// first request. It sees the raw bytes, before HTTP decoding, so a client that sends a head
/// one byte at a time cannot keep the connection forever. `RequestBodyGuard`, after decoding,
/// says when a request has been read, so the next one's clock starts at its first byte.
final class RequestHeadGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum State {
        /// Between requests: the next byte starts the head clock.
        case idle
        /// Reading a head; the deadline closes the connection.
        case head(Scheduled<Void>)
        /// The head is complete; its body and response are under way.
        case afterHead
    }

    let headerTimeout: TimeAmount
    let counter: AddressConnectionCounter
    let logger: Logger
    private var state = State.idle
    /// The last three bytes seen, to find "\r\n\r\n" across reads.
    private var tail: [UInt8] = []
    private var address: String?

    init(headerTimeout: TimeAmount, counter: AddressConnectionCounter, logger: Logger) {
        self.headerTimeout = headerTimeout
        self.counter = counter
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard counter.open(address) else {
            logger.warning("too many connections from one address: closed", metadata: ["client": "\(address)"])
            context.close(promise: nil)
            return
        }
        self.address = address
        startHead(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if case .head(let deadline) = state { deadline.cancel() }
        state = .afterHead
        if let address { counter.close(address) }
        address = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if case .idle = state { startHead(context: context) }
        if case .head(let deadline) = state, containsHeadEnd(bytes) {
            deadline.cancel()
            state = .afterHead
        }
        context.fireChannelRead(data)
    }

    /// The request whose head came last has been read to its end (`RequestBodyGuard`).
    func requestRead() {
        guard case .afterHead = state else { return }
        state = .idle
        tail = []
    }

    private func startHead(context: ChannelHandlerContext) {
        tail = []
        let deadline = context.eventLoop.assumeIsolated().scheduleTask(in: headerTimeout) { [self] in
            guard case .head = state else { return }
            logger.info("request head not complete in time: connection closed",
                        metadata: ["client": "\(address ?? "unknown")"])
            context.close(promise: nil)
        }
        state = .head(deadline)
    }

    private func containsHeadEnd(_ bytes: ByteBuffer) -> Bool {
        let terminator: [UInt8] = [13, 10, 13, 10]
        var window = tail
        for byte in bytes.readableBytesView {
            window.append(byte)
            if window.count > 4 { window.removeFirst() }
            if window == terminator { return true }
        }
        tail = window
        return false
    }
}
