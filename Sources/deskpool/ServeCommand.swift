import ArgumentParser
import DeskpoolCore
import Logging
import ServiceLifecycle

/// `deskpool serve`: runs the store, the reconciler and the event listeners until SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the broker: keep pools at their size, hand out desktops, recover after a crash.",
        discussion: "Logs to standard error (DESKPOOL_LOG_LEVEL=trace|debug|info|notice|warning|error). SIGTERM or SIGINT stops it gracefully: work in progress stays recorded and resumes at the next start."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        BrokerContext.bootstrapLogging()
        let logger = Logger(label: "deskpool")
        let context = try await BrokerContext.open(options)
        logger.info("deskpool serving", metadata: [
            "store": "\(BrokerContext.storePath(context.configuration))",
            "hosts": "\(context.configuration.hosts.map { "\($0.name)=\($0.uri)" }.joined(separator: ","))",
        ])
        let limits = Dictionary(context.configuration.hosts.map { ($0.name, $0.maxConcurrentOperations) }, uniquingKeysWith: { a, _ in a })
        let reconciler = ReconcilerService(
            store: context.store, hypervisors: context.hypervisors,
            options: .init(broker: context.configuration.broker, hostLimits: limits),
            logger: Logger(label: "deskpool.reconciler"))
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: reconciler)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        logger.info("deskpool stopped")
    }
}
