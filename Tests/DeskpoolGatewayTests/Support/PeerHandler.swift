import NIOCore

/// What the upstream test display does with what it receives.
enum PeerBehavior: Sendable {
    /// Records only.
    case silent
    /// Sends every byte back.
    case echo
    /// On its first bytes, sends `count` bytes (a pattern) once: the display's output.
    case respond(count: Int)
}

final class PeerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let peer: Peer
    let behavior: PeerBehavior
    private var responded = false

    init(peer: Peer, behavior: PeerBehavior) {
        self.peer = peer
        self.behavior = behavior
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        peer.append(buffer)
        switch behavior {
        case .silent:
            break
        case .echo:
            context.writeAndFlush(data, promise: nil)
        case .respond(let count):
            guard !responded else { return }
            responded = true
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: pattern(count))), promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.markClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// `count` bytes of a recognisable, non-repeating-per-KiB pattern.
func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 31 &+ $0 / 251 &+ seed)) }
}
