import BenchSupport
import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import Foundation
import Libvirt

/// Refill rate: a pool of N desktops filled from nothing by the reconciler, on a real host.
/// Measured from the pool being applied until every desktop's `startDesktop` has returned
/// (domain running), and separately until every desktop is `ready` in the store (its guest
/// agent answered: the guests boot under TCG here, so that is mostly boot time).
struct RefillBench {
    let host: BenchHost
    let count: Int
    let concurrency: Int
    let holdProbes: Bool
    let waitReady: Bool
    let readyTimeout: Duration
    static let instance = "bench-refill"

    init(_ arguments: Arguments) {
        host = BenchHost(arguments)
        count = arguments.int("count", 20)
        concurrency = arguments.int("concurrency", 4)
        holdProbes = arguments.int("hold-probes", 0) != 0
        waitReady = arguments.int("wait-ready", 1) != 0
        readyTimeout = .seconds(arguments.int("ready-timeout", 300))
    }

    func run() async throws {
        let store = try SQLiteStore(path: host.stateDirectory + "/deskpool.sqlite")
        let connection = try await Connection.open(host.uri)
        let libvirt = LibvirtHypervisor(host: "local", connection: connection, storagePool: host.storagePool,
                                        domainType: host.domainType, instance: Self.instance)
        let hypervisor = TimedHypervisor(libvirt, holdProbes: holdProbes)
        let admin = Administration(store: store, hypervisors: [hypervisor])
        var template = try TemplateDefinition.load(directory: host.templateDirectory)
        // N guests booting at once under TCG on 2 cores take far longer than one: the bench
        // measures how long, so it must not give up at the template's timeout.
        template.bootTimeoutSeconds = max(template.bootTimeoutSeconds, 1800)
        try await admin.applyTemplate(template, actor: "bench")
        let published = ContinuousClock.now
        let version = try await admin.publishVersion(template: template.name, from: .file(host.image), note: "bench", actor: "bench")
        progress("published \(version.volume) (\(host.image)) in \(String(format: "%.1f", (ContinuousClock.now - published).seconds)) s")
        sync()  // the upload's dirty pages must not be written back during the measurement

        var broker = BrokerConfiguration()
        broker.instance = Self.instance
        broker.orphanGraceSeconds = 86_400  // the bench removes what it made itself
        let options = ReconcilerService.Options(broker: broker, hostLimits: ["local": concurrency], probeInterval: .milliseconds(500))
        let reconciler = ReconcilerService(store: store, hypervisors: [hypervisor], options: options, logger: benchLogger("deskpool.reconciler"))

        var failure: (any Error)?
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await reconciler.run() }
                defer { group.cancelAll() }
                try await Task.sleep(for: .milliseconds(500))  // the first (empty) pass, event subscriptions
                hypervisor.reset()
                try await measure(admin: admin, store: store, reconciler: reconciler, hypervisor: hypervisor)
            }
        } catch {
            failure = error
        }
        progress("destroying the run's desktops and base volume...")
        let desktops = (try? await store.desktops(pool: nil)) ?? []
        await withTaskGroup(of: Void.self) { group in
            for desktop in desktops {
                group.addTask { try? await libvirt.destroyDesktop(named: desktop.name, volume: desktop.volumeName) }
            }
        }
        try? await libvirt.deleteVolume(named: version.volume)
        await connection.close()
        if let failure { throw failure }
    }

    private func measure(admin: Administration, store: SQLiteStore, reconciler: ReconcilerService, hypervisor: TimedHypervisor) async throws {
        let spec = PoolSpec(name: "bench", template: "tiny-linux", min: 0, max: count, spare: count, naming: NamePattern("dpb-{n:03}"))
        let start = ContinuousClock.now
        try await admin.applyPool(spec, actor: "bench")
        reconciler.poke()  // as a running broker does when its store changes in-process

        let deadline = start + .seconds(1800)
        var started: ContinuousClock.Instant?
        var probesBeforeStarted: TimedHypervisor.Tally?
        // A guest that never answers must not hang the bench: after `readyTimeout` past the
        // last start, report how many became ready, and when the last of them did.
        var readyCount = 0
        var lastReady = start
        while true {
            let record = hypervisor.snapshot
            if started == nil, record.started.count >= count {
                started = record.started.values.max()
                probesBeforeStarted = record.calls["probe"] ?? TimedHypervisor.Tally()
                hypervisor.releaseProbes()
                progress(String(format: "all %d domains running after %.2f s", count, (started! - start).seconds))
                if !waitReady { break }
            }
            let desktops = try await store.desktops(pool: "bench")
            if let failed = desktops.first(where: { $0.state == .failed }) {
                throw BenchFailure("desktop \(failed.name) failed: \(failed.reason ?? "?")")
            }
            let ready = desktops.filter { $0.state == .ready }.count
            if ready > readyCount { (readyCount, lastReady) = (ready, ContinuousClock.now) }
            if started != nil, readyCount == count { break }
            if let started, ContinuousClock.now > started + readyTimeout {
                progress("\(count - readyCount) guest(s) not ready \(readyTimeout) after the last start: \(desktops.filter { $0.state != .ready }.map(\.name))")
                break
            }
            guard ContinuousClock.now < deadline else { throw BenchFailure("the pool did not fill within 30 minutes") }
            try await Task.sleep(for: .milliseconds(started == nil ? 10 : 100))
        }
        let record = hypervisor.snapshot
        print(String(format: "started_s=%.3f", (started! - start).seconds))
        if waitReady {
            print(String(format: "ready_s=%.3f", (lastReady - start).seconds))
            print("ready_count=\(readyCount)")
        }
        print("probes_before_started=\(probesBeforeStarted?.count ?? 0)")
        print(String(format: "probe_ms_before_started=%.1f", (probesBeforeStarted.map { $0.total / max(1, $0.count) }?.seconds ?? 0) * 1000))
        for (kind, tally) in record.calls.sorted(by: { $0.key < $1.key }) {
            print(String(format: "call=%@ count=%d mean_ms=%.1f", kind, tally.count, tally.total.seconds * 1000 / Double(max(1, tally.count))))
        }
    }
}

func progress(_ text: String) {
    FileHandle.standardError.write(Data("BrokerBench: \(text)\n".utf8))
}
