import ArgumentParser
import DeskpoolCore
import DeskpoolGateway
import DeskpoolPAM
import DeskpoolServer
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `deskpool serve`: runs the reconciler, the session service, the SPICE gateway and the
/// HTTP API and portal until SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the broker: keep pools at their size, hand out desktops, recover after a crash.",
        discussion: "Logs to standard error (DESKPOOL_LOG_LEVEL=trace|debug|info|notice|warning|error). SIGTERM or SIGINT stops it gracefully: work in progress stays recorded and resumes at the next start."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        // Whatever the broker writes itself (the store, the key, staged uploads) is its own.
        umask(0o077)
        CommandContext.bootstrapLogging()
        let logger = Logger(label: "deskpool")
        let context = try await CommandContext.open(options, hosts: .supervise)
        logger.info("deskpool serving", metadata: [
            // The URL never holds the password (the configuration refuses one).
            "store": "\(context.configuration.store.url ?? CommandContext.storePath(context.configuration))",
            "hosts": "\(context.configuration.hosts.map { "\($0.name)=\($0.uri)" }.joined(separator: ","))",
        ])
        DescriptorLimit.raise(to: DescriptorLimit.needed(maxTunnels: context.configuration.gateway.enabled ? context.configuration.gateway.maxTunnels : 0,
                                                         maxConnections: context.configuration.http.connections.maxConnections),
                              logger: logger)
        // Hosts that answer now are connected before the start-up work; the others are
        // reported and tried again in the background (a broker starts with a host down).
        await withTaskGroup(of: Void.self) { group in
            for link in context.links { group.addTask { await link.connectOnce() } }
        }
        let configuration = context.configuration
        try await Self.recoverImports(context, logger: logger)
        // One key for the tokens the broker signs and the gateway checks.
        let tokenKey = try await context.tokenKey()
        let broker = try await context.broker(tokenKey: tokenKey, replica: true)
        // The links first: started before, and stopped after, everything that uses them.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = context.links.map { .init(service: $0) }
        services += broker.services.map { .init(service: $0) }
        var gateway: SpiceGateway?
        if configuration.gateway.enabled {
            let tls = try configuration.gateway.tls.map(SpiceGateway.tlsContext)
            gateway = SpiceGateway(configuration: configuration.gateway, key: tokenKey, directory: broker.directory, addresses: broker.addresses,
                                   tls: tls)
            services.append(.init(service: gateway!))
        }
        // One Prometheus registry for the server's metrics and swift-metrics (the reconciler's).
        let metrics = ServerMetrics()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        var brokerServices = BrokerServices(
            broker: broker, authenticator: PAMLogin(configuration: configuration.authentication),
            adminGroup: configuration.authentication.adminGroup,
            tunnels: { [gateway] in
                guard let statistics = gateway?.statistics() else { return nil }
                return TunnelTotals(open: statistics.openTunnels, total: statistics.totalTunnels,
                                    bytesClientToDesktop: statistics.bytesClientToDesktop,
                                    bytesDesktopToClient: statistics.bytesDesktopToClient,
                                    refused: statistics.refusals.values.reduce(0, +))
            })
        brokerServices.challengeSeconds = configuration.authentication.challengeSeconds
        let http = DeskpoolHTTPServer(services: brokerServices, configuration: configuration.http, metrics: metrics)
        services.append(.init(service: try http.application(logger: Logger(label: "deskpool.http"))))
        logger.info("portal and API", metadata: [
            "url": "\(configuration.http.tls == nil ? "http" : "https")://\(configuration.http.listen):\(configuration.http.port)/"])
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        logger.info("deskpool stopped")
    }

    /// Removes what an import cut short by a crash left (the `importing` version records and
    /// their volumes, staged uploads) and makes the import and upload directories (0700).
    static func recoverImports(_ context: CommandContext, logger: Logger) async throws {
        let images = context.configuration.images
        try OpenedImage.prepareDirectory(images.importDirectory)
        try OpenedImage.prepareDirectory(images.uploadDirectory)
        ImageUpload.removeLeftovers(in: images.uploadDirectory)
        do {
            let removed = try await context.admin.removeUnfinishedImports(actor: "broker")
            if !removed.isEmpty { logger.notice("removed versions whose import was cut short", metadata: ["versions": "\(removed.joined(separator: ","))"]) }
        } catch {
            logger.warning("could not remove versions whose import was cut short", metadata: ["error": "\(error)"])
        }
    }
}
