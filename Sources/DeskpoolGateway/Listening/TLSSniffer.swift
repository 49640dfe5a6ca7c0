import NIOCore
import NIOSSL

/// With `gateway.tls`, the first handler of every connection: a connection whose first byte
/// starts a TLS handshake (0x16) gets a TLS server handler (a browser console's `wss://`);
/// any other (remote-viewer's plain CONNECT) stays plain. Either way it then leaves.
final class TLSSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    static let handshakeRecord: UInt8 = 0x16

    private let tls: NIOSSLContext

    init(tls: NIOSSLContext) { self.tls = tls }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        let pipeline = context.pipeline.syncOperations
        if first == Self.handshakeRecord {
            do {
                try pipeline.addHandler(NIOSSLServerHandler(context: tls), position: .after(self))
            } catch {
                return context.close(promise: nil)
            }
        }
        // To the TLS handler just added, or to the handshake handler.
        context.fireChannelRead(data)
        pipeline.removeHandler(context: context, promise: nil)
    }
}
