public import DeskpoolCore
public import Foundation
public import Logging
public import NIOCore
import NIOPosix
public import ServiceLifecycle

/// The SPICE gateway: an HTTP CONNECT proxy that remote-viewer reaches through the `.vv`
/// file's `proxy=` key, so hypervisors' SPICE ports never need to be reachable from client
/// networks. Each SPICE channel is one CONNECT whose host is a signed connect token; the
/// gateway verifies it, asks the broker's `ConsoleDirectory` where the desktop's display is,
/// checks the port and the limits, connects, and splices the two connections.
///
/// It is never an open proxy: a CONNECT whose host is not a token this broker signed, or whose
/// port is not the desktop's display, is refused. See docs/gateway.md.
///
/// `run()` serves whatever `configuration.enabled` says: whoever builds the service group
/// decides whether to include it.
public final class SpiceGateway: Service, Sendable {
    public let configuration: GatewayConfiguration
    let environment: TunnelEnvironment
    let group: any EventLoopGroup
    let logger: Logger
    let listening = ListeningSignal()
    let connections = OpenConnections()

    /// - Parameters:
    ///   - key: The broker's connect-token key; tokens signed with any other are refused.
    ///   - directory: Where a token's desktop display is, and what its pool forbids.
    ///   - addresses: Told which client is behind each of the gateway's display connections.
    ///   - now: The clock tokens' expiry is checked against.
    ///   - eventLoopGroup: Where connections run; NIO's shared group when nil.
    public init(configuration: GatewayConfiguration, key: ConnectTokenKey, directory: some ConsoleDirectory,
                addresses: ClientAddressBook, logger: Logger = Logger(label: "deskpool.gateway"),
                now: @escaping @Sendable () -> Date = { Date() }, eventLoopGroup: (any EventLoopGroup)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.group = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        let ledger = TunnelLedger()
        let limits = TunnelLedger.Limits(perSession: configuration.maxTunnelsPerSession, total: configuration.maxTunnels)
        environment = TunnelEnvironment(
            authorizer: TunnelAuthorizer(key: key, directory: directory, ledger: ledger, limits: limits, now: now),
            ledger: ledger,
            addresses: addresses,
            logger: logger,
            handshakeTimeout: .seconds(10),
            connectTimeout: .seconds(5),
            idleTimeout: configuration.idleTimeoutSeconds > 0 ? .seconds(Int64(configuration.idleTimeoutSeconds)) : nil
        )
    }

    /// Binds the listener and serves until graceful shutdown or cancellation, then closes the
    /// listener and every tunnel.
    public func run() async throws {
        connections.reopen()
        let listener: any Channel
        do {
            listener = try await bootstrap().bind(host: configuration.listen, port: configuration.port).get()
        } catch {
            logger.error("SPICE gateway cannot listen", metadata: ["address": "\(configuration.listen):\(configuration.port)", "error": "\(error)"])
            listening.failed(error)
            throw error
        }
        let port = listener.localAddress?.port ?? configuration.port
        logger.info("SPICE gateway listening", metadata: ["address": "\(configuration.listen):\(port)"])
        listening.listening(on: port)

        await withTaskCancellationOrGracefulShutdownHandler {
            try? await listener.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            listener.close(promise: nil)
        }
        listening.stopped()
        await connections.closeAll()
        logger.info("SPICE gateway stopped")
    }

    /// The port the listener bound, once `run()` has bound it (the configured port, or the one
    /// the system picked for port 0). Throws the bind error if binding failed.
    public func waitUntilListening() async throws -> Int {
        try await listening.wait()
    }

    /// The tunnels now and since start, per session, and the refusals.
    public func statistics() -> GatewayStatistics {
        environment.ledger.snapshot()
    }

    private func bootstrap() -> ServerBootstrap {
        let environment = self.environment
        let connections = self.connections
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // The handshake reads only what it needs; the glue turns auto-read on.
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: TunnelSocketOptions.receiveAllocator)
            .childChannelOption(.writeBufferWaterMark, value: TunnelSocketOptions.writeBufferWaterMark)
            .childChannelInitializer { channel in
                guard connections.insert(channel) else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TunnelHandshakeHandler(environment: environment))
                }
            }
    }
}
