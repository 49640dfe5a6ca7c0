public import Foundation
public import Logging
public import ServiceLifecycle
import AsyncAlgorithms
import Synchronization

/// Keeps every pool at its spec and repairs what a crash left behind. Each pass reads the
/// store and every host, asks `PoolReconciler` and `HostRecovery` what to do, and runs their
/// actions concurrently (bounded per host by `OperationLimiter`). Passes run on a timer
/// (`broker.sweepIntervalSeconds`), on hypervisor events and when `poke()` is called.
///
/// One of several replicas acts only on what it holds (`Ownership`): a host's lease to
/// repair the host and drive its desktops, the pools lease to decide which desktops to
/// create, retire or discard. Its writes for that work carry the lease's fence.
public final class ReconcilerService: Service, Sendable {
    public struct Options: Sendable {
        public var broker: BrokerConfiguration
        /// Operations at once per host.
        public var hostLimits: [String: Int]
        /// How often a booting guest is probed.
        public var probeInterval: Duration
        /// What identity seeds may carry (deskpool.yaml `secrets:`).
        public var secrets: Secrets

        public init(broker: BrokerConfiguration = BrokerConfiguration(), hostLimits: [String: Int] = [:], probeInterval: Duration = .seconds(1),
                    secrets: Secrets = Secrets()) {
            self.broker = broker
            self.hostLimits = hostLimits
            self.probeInterval = probeInterval
            self.secrets = secrets
        }
    }

    /// A pool's provisioning health: failures in a row, the last error, the next attempt.
    public struct PoolHealth: Sendable, Hashable {
        public var failures = 0
        public var lastError: String?
        public var retryAt: Date?
        /// Why the pool is short of desktops and nothing is being done, if it is.
        public var blocked: String?
        /// When the last failure counted happened.
        public var lastFailureAt: Date?
    }

    struct Memory {
        var busy: Set<String> = []
        var health: [String: PoolHealth] = [:]
        /// Failed desktops already counted in their pool's health (by this broker's own
        /// drives, or seen failed on a host another replica drives).
        var countedFailures: Set<String> = []
        var orphans: [String: [String: Date]] = [:]
        var passes = 0
        /// The last forecast of each `spare: auto` pool (made again every `forecastEvery`).
        var forecasts: [String: SpareForecast] = [:]
        /// The start of the last interval whose capacity samples were recorded.
        var sampledSlot: Date?
    }

    let store: any Store
    let hypervisors: [String: any Hypervisor]
    /// When the usage history's retention is due.
    let usageSweep = Sweep(every: 3600)
    /// Which hosts this broker drives and whether it sizes the pools (all of it when alone;
    /// its leases when it is one of several replicas).
    let ownership: any Ownership
    let limiters: [String: OperationLimiter]
    let options: Options
    let estimator: ReadyEstimator
    let logger: Logger
    let now: @Sendable () -> Date
    /// Times the sweep and the boot probes (a test drives a manual clock).
    let clock: any Clock<Duration>
    let memory = Mutex(Memory())
    /// The running loop's wake-up stream (one per `run()`, so the service can run again).
    private let pokeContinuation = Mutex<AsyncStream<Void>.Continuation?>(nil)

    public convenience init(store: any Store, hypervisors: [any Hypervisor], options: Options = Options(), estimator: ReadyEstimator = ReadyEstimator(),
                logger: Logger = Logger(label: "deskpool.reconciler"), now: @escaping @Sendable () -> Date = { Date() }) {
        self.init(store: store, hosts: Hosts(hypervisors), options: options, estimator: estimator, logger: logger, now: now)
    }

    public init(store: any Store, hosts: Hosts, options: Options = Options(), estimator: ReadyEstimator = ReadyEstimator(),
                logger: Logger = Logger(label: "deskpool.reconciler"), now: @escaping @Sendable () -> Date = { Date() },
                clock: any Clock<Duration> = ContinuousClock(), ownership: any Ownership = SoleOwnership()) {
        self.store = store
        self.ownership = ownership
        self.hypervisors = hosts.byName
        self.limiters = hosts.byName.mapValues { OperationLimiter(limit: options.hostLimits[$0.host] ?? 4) }
        self.options = options
        self.estimator = estimator
        self.logger = logger
        self.now = now
        self.clock = clock
    }

    /// Asks for a pass soon (passes coalesce).
    public func poke() {
        _ = pokeContinuation.withLock { $0?.yield() }
    }

    public func health(pool: String) -> PoolHealth {
        memory.withLock { $0.health[pool] ?? PoolHealth() }
    }

    /// Passes completed so far.
    public var passes: Int { memory.withLock { $0.passes } }

    /// One pass, with its work run to the end. For `deskpool reconcile --once`, tests and
    /// benchmarks; `run()` is the service. Returns how many actions the pass took.
    @discardableResult
    public func reconcileOnce() async -> Int {
        let work = await pass()
        await withDiscardingTaskGroup { group in
            for item in work { group.addTask { await self.perform(item) } }
        }
        return work.count
    }

    public func run() async throws {
        logger.info("reconciler started", metadata: ["hosts": "\(hypervisors.keys.sorted().joined(separator: ","))"])
        let interval = Duration.seconds(options.broker.sweepIntervalSeconds)
        let (pokes, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        pokeContinuation.withLock { $0 = continuation }
        defer { pokeContinuation.withLock { $0 = nil } }
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in Ticks(every: interval, on: self.clock).cancelOnGracefulShutdown() { self.poke() }
            }
            for hypervisor in hypervisors.values {
                group.addTask {
                    for await event in await hypervisor.events().cancelOnGracefulShutdown() { await self.handle(event) }
                }
            }
            poke()
            for await _ in pokes.cancelOnGracefulShutdown() {
                for work in await pass() {
                    group.addTask {
                        await self.perform(work)
                        self.poke()
                    }
                }
            }
            group.cancelAll()
        }
        logger.info("reconciler stopped")
    }
}
