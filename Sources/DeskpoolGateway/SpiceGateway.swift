public import DeskpoolCore
public import Foundation
public import Logging
public import NIOCore
import NIOPosix
public import NIOSSL
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
    let directory: any ConsoleDirectory
    let sweepInterval: Duration
    let tls: NIOSSLContext?

    /// - Parameters:
    ///   - key: The broker's connect-token key; tokens signed with any other are refused.
    ///   - directory: Where a token's desktop display is, and what its pool forbids.
    ///   - addresses: Told which client is behind each of the gateway's display connections.
    ///   - now: The clock tokens' expiry is checked against.
    ///   - eventLoopGroup: Where connections run; NIO's shared group when nil.
    ///   - sweepInterval: How often browser consoles whose session ended are looked for.
    ///   - tls: `gateway.tls` loaded (`tlsContext(_:)`): connections that start with a TLS
    ///     handshake get it. nil: plain only.
    public init(configuration: GatewayConfiguration, key: ConnectTokenKey, directory: some ConsoleDirectory,
                addresses: ClientAddressBook, logger: Logger = Logger(label: "deskpool.gateway"),
                now: @escaping @Sendable () -> Date = { Date() }, eventLoopGroup: (any EventLoopGroup)? = nil,
                sweepInterval: Duration = .seconds(2), tls: NIOSSLContext? = nil) {
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
            idleTimeout: configuration.idleTimeoutSeconds > 0 ? .seconds(Int64(configuration.idleTimeoutSeconds)) : nil,
            allowsOrigin: { [configuration] origin, host in configuration.allowsOrigin(origin, relayHost: host) },
            browsers: BrowserTunnels()
        )
        self.directory = directory
        self.sweepInterval = sweepInterval
        self.tls = tls
    }

    /// The TLS context of `gateway.tls`; `.invalidInput` when the files cannot be loaded.
    public static func tlsContext(_ files: HTTPConfiguration.TLS) throws(DeskpoolError) -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: files.keyFile, format: .pem)
            return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        } catch {
            throw DeskpoolError(.invalidInput, "gateway.tls: cannot load the certificate or key (\(error))", field: "gateway.tls")
        }
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
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await listener.closeFuture.get() }
                group.addTask { await self.sweepBrowserConsoles() }
                await group.next()
                group.cancelAll()
            }
        } onCancelOrGracefulShutdown: {
            listener.close(promise: nil)
        }
        listening.stopped()
        await connections.closeAll()
        logger.info("SPICE gateway stopped")
    }

    /// Closes browser consoles whose session is over, every `sweepInterval` until cancelled.
    private func sweepBrowserConsoles() async {
        let browsers = environment.browsers
        while !Task.isCancelled {
            try? await Task.sleep(for: sweepInterval)
            let tokens = browsers.tokens
            guard !tokens.isEmpty, !Task.isCancelled else { continue }
            let ended = await directory.endedSessions(among: tokens)
            guard !ended.isEmpty else { continue }
            let closed = browsers.close(ended)
            for token in ended {
                logger.info("closing browser console: its session ended", metadata: ["desktop": "\(token.desktop)", "session": "\(token.session)"])
            }
            logger.debug("browser consoles closed", metadata: ["count": "\(closed)"])
        }
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
        let tls = self.tls
        return ServerBootstrap(group: group)
            // Consoles reconnect in bursts (a network blip drops thousands of channels at once).
            .serverChannelOption(.backlog, value: 4096)
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
                    if let tls { try channel.pipeline.syncOperations.addHandler(TLSSniffer(tls: tls)) }
                    try channel.pipeline.syncOperations.addHandler(TunnelHandshakeHandler(environment: environment))
                }
            }
    }
}
