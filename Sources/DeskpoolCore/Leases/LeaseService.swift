import Foundation
public import Logging
public import ServiceLifecycle
import Metrics
import Synchronization

/// A replica's leases on a shared store: every `renewInterval` it reads the store's leases,
/// `LeaseMachine` decides, and it renews, takes and gives up leases. It is the `Ownership` of
/// the replica's reconciler, session tracking and rollouts.
///
/// A lease counts as held until `duration` (less a margin) after the renewal was *sent*, by
/// this process's monotonic clock; the store keeps it until `duration` after it *arrived*,
/// by the store's clock. So a replica stops acting before any other may take over, whatever
/// the clocks say; and a write still in flight is refused by its fence.
public final class LeaseService: Service, Ownership, Sendable {
    public struct Options: Sendable {
        /// This replica's name in the store (`broker.replica`).
        public var replica: String
        /// How long a lease lasts without renewal: how soon a dead replica's work is taken over.
        public var duration: Duration
        /// How often leases are renewed (a third of `duration`: two renewals may fail).
        public var renewInterval: Duration

        public init(replica: String, duration: Duration = .seconds(5), renewInterval: Duration? = nil) {
            self.replica = replica
            self.duration = duration
            self.renewInterval = renewInterval ?? duration / 3
        }
    }

    struct Held {
        var generation: Int64
        var validUntil: ContinuousClock.Instant
    }

    let store: any Store
    let options: Options
    /// The work there is: each configured host, pools and rollouts.
    let work: [Lease.Work]
    let logger: Logger
    let clock = ContinuousClock()
    let held = Mutex<[String: Held]>([:])
    let listeners = Mutex<[@Sendable (Lease.Work) -> Void]>([])

    public init(store: any Store, options: Options, hosts: [String], logger: Logger = Logger(label: "deskpool.leases")) {
        self.store = store
        self.options = options
        self.work = hosts.sorted().map { .host($0) } + [.pools, .rollouts]
        self.logger = logger
    }

    public var replica: String { options.replica }

    /// Calls `body` with each work this replica takes over (to start on it at once).
    public func onGain(_ body: @escaping @Sendable (Lease.Work) -> Void) {
        listeners.withLock { $0.append(body) }
    }

    public func holding(_ work: Lease.Work) -> Holding? {
        let name = work.description
        let now = clock.now
        return held.withLock { held in
            guard let lease = held[name], now < lease.validUntil else { return nil }
            return Holding(fence: LeaseFence(name: name, generation: lease.generation))
        }
    }

    /// The work leases this replica holds now.
    public var heldWork: [Lease.Work] {
        let now = clock.now
        return held.withLock { $0.filter { now < $0.value.validUntil }.keys.sorted().compactMap(Lease.Work.init).filter {
            if case .replica = $0 { false } else { true }
        } }
    }

    public func run() async throws {
        logger.info("leases: this replica shares the work", metadata: [
            "replica": "\(options.replica)", "duration": "\(options.duration)", "work": "\(work.map(\.description).joined(separator: ","))"])
        await step()
        for await _ in Ticks(every: options.renewInterval, on: clock).cancelOnGracefulShutdown() { await step() }
        // A graceful shutdown hands the work over at once; a cancelled task (a crash, in a
        // test) leaves its leases to run out.
        if !Task.isCancelled { await releaseAll() }
    }

    /// One round: read, decide, act. A store that cannot be reached leaves every lease to
    /// run out by itself.
    public func step() async {
        let leases: [Lease]
        do {
            leases = try await store.leases()
        } catch {
            logger.warning("leases: cannot read the store; held leases run out unless renewed", metadata: ["error": "\(error)"])
            return
        }
        let current = held.withLock { $0.mapValues(\.generation) }
        let actions = LeaseMachine.decide(LeaseMachine.Input(replica: options.replica, work: work, leases: leases, held: current))
        await withDiscardingTaskGroup { group in
            for action in actions { group.addTask { await self.perform(action) } }
        }
    }

    private func perform(_ action: LeaseMachine.Action) async {
        switch action {
        case .renew(let name, let generation):
            await take(name, renewing: generation)
        case .take(let name):
            await take(name, renewing: nil)
        case .forget(let name):
            drop(name, why: "another replica holds it")
        case .release(let name, let generation):
            drop(name, why: "given up to a replica with less work")
            do {
                try await store.releaseLease(name, holder: options.replica, generation: generation)
            } catch {
                logger.warning("leases: cannot release; it runs out by itself", metadata: ["lease": "\(name)", "error": "\(error)"])
            }
        }
    }

    private func take(_ name: String, renewing generation: Int64?) async {
        let sent = clock.now
        let lease: Lease?
        do {
            lease = try await store.takeLease(name, holder: options.replica, renewing: generation, for: options.duration)
        } catch {
            logger.warning("leases: cannot renew or take", metadata: ["lease": "\(name)", "error": "\(error)"])
            return
        }
        guard let lease else {
            if generation != nil { drop(name, why: "another replica took it") }
            return
        }
        let margin = min(options.duration / 5, .seconds(1))
        let gained = held.withLock { held in
            defer { held[name] = Held(generation: lease.generation, validUntil: sent + options.duration - margin) }
            return held[name]?.generation != lease.generation
        }
        guard gained, let work = Lease.Work(name) else { return }
        if case .replica = work { return }
        logger.notice("leases: this replica now runs the work", metadata: ["lease": "\(name)", "generation": "\(lease.generation)"])
        Gauge(label: "deskpool_lease_held", dimensions: [("lease", name)]).record(1)
        for listener in listeners.withLock({ $0 }) { listener(work) }
    }

    private func drop(_ name: String, why: String) {
        guard held.withLock({ $0.removeValue(forKey: name) }) != nil else { return }
        logger.notice("leases: this replica stops the work", metadata: ["lease": "\(name)", "why": "\(why)"])
        Gauge(label: "deskpool_lease_held", dimensions: [("lease", name)]).record(0)
    }

    /// At a graceful shutdown: the work goes to the other replicas at once, not after the
    /// lease time.
    func releaseAll() async {
        let all = held.withLock { held in defer { held = [:] }; return held }
        for (name, lease) in all {
            try? await store.releaseLease(name, holder: options.replica, generation: lease.generation)
        }
        if !all.isEmpty { logger.notice("leases: released at shutdown", metadata: ["leases": "\(all.keys.sorted().joined(separator: ","))"]) }
    }
}
