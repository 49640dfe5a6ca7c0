import NIOCore
import NIOPosix
import Synchronization

/// The capacity run's stand-in displays, on NIO so that tens of thousands of idle connections
/// cost what they cost a server's event loop, not a thread each. `pairs` SPICE ports (answer
/// the client's link with a link reply of spice-server's size, then read and drop) and as many
/// VNC ports (send the RFB greeting, then read and drop): traffic both ways, as a real idle
/// channel has had, so that every connection has read something (NIO keeps a read buffer).
/// Several ports because the connections from one address to one port are bounded by the
/// ephemeral port range (28,232 by default), and the gateway connects from 127.0.0.1.
final class IdleDisplay: Sendable {
    static let greeting = Array("RFB 003.008\n".utf8)

    let spicePorts: [Int]
    let vncPorts: [Int]
    private let listeners: [any Channel]
    private let counter: Counter

    /// Connections the displays hold now.
    var connections: Int { counter.value.load(ordering: .relaxed) }

    static func start(group: any EventLoopGroup, pairs: Int) async throws -> IdleDisplay {
        let counter = Counter()
        var spice: [any Channel] = []
        var vnc: [any Channel] = []
        for _ in 0..<pairs {
            spice.append(try await listen(group: group, greeting: nil, answer: SpiceLink.reply, counter: counter))
            vnc.append(try await listen(group: group, greeting: greeting, answer: nil, counter: counter))
        }
        return IdleDisplay(spice: spice, vnc: vnc, counter: counter)
    }

    private init(spice: [any Channel], vnc: [any Channel], counter: Counter) {
        spicePorts = spice.map { $0.localAddress?.port ?? 0 }
        vncPorts = vnc.map { $0.localAddress?.port ?? 0 }
        listeners = spice + vnc
        self.counter = counter
    }

    func close() async {
        for listener in listeners { try? await listener.close() }
    }

    private static func listen(group: any EventLoopGroup, greeting: [UInt8]?, answer: [UInt8]?, counter: Counter) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleDisplayHandler(greeting: greeting, answer: answer, counter: counter))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }
}

/// One display connection: counted while open, greeted if a greeting is set, its first input
/// answered if an answer is set, the rest dropped.
private final class IdleDisplayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let greeting: [UInt8]?
    private var answer: [UInt8]?
    private let counter: IdleDisplay.Counter

    init(greeting: [UInt8]?, answer: [UInt8]?, counter: IdleDisplay.Counter) {
        self.greeting = greeting
        self.answer = answer
        self.counter = counter
    }

    func channelActive(context: ChannelHandlerContext) {
        counter.value.add(1, ordering: .relaxed)
        if let greeting { context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: greeting)), promise: nil) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        counter.value.subtract(1, ordering: .relaxed)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let answer else { return }
        self.answer = nil
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: answer)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
