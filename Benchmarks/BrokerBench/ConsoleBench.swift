import BenchSupport
import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import Foundation
import Libvirt

/// Time to console: a user asks for a desktop of a warm pool and gets a `.vv` with a fresh ticket
/// set live on its SPICE display, through `Broker.requestDesktop` (the request path the API and
/// the portal take, without HTTP: the pool and the user's desktop read once, the live device
/// update, the audit line, the connect token and the file), side by side with libvirt's own
/// live device update of the same `<graphics>` element on the same desktops (the floor),
/// interleaved request by request.
struct ConsoleBench {
    let host: BenchHost
    let desktops: Int
    let sequential: Int
    let concurrent: Int
    /// Bursts of `concurrent` requests each way.
    let rounds: Int
    static let instance = "bench-console"

    init(_ arguments: Arguments) {
        host = BenchHost(arguments)
        desktops = arguments.int("desktops", 4)
        sequential = arguments.int("sequential", 200)
        concurrent = arguments.int("concurrent", 50)
        rounds = arguments.int("rounds", 6)
    }

    func run() async throws {
        let store = try SQLiteStore(path: host.stateDirectory + "/deskpool.sqlite")
        let connection = try await Connection.open(host.uri)
        let libvirt = LibvirtHypervisor(host: "local", connection: connection, storagePool: host.storagePool, domainType: host.domainType, instance: Self.instance)
        let admin = Administration(store: store, hypervisors: [libvirt])
        try await admin.applyTemplate(try TemplateDefinition.load(directory: host.templateDirectory), actor: "bench")
        let version = try await admin.publishVersion(template: "tiny-linux", from: .file(host.image), note: "bench", actor: "bench")
        var broker = BrokerConfiguration()
        broker.instance = Self.instance
        let reconciler = ReconcilerService(store: store, hypervisors: [libvirt], options: .init(broker: broker, probeInterval: .milliseconds(500)),
                                           logger: benchLogger("deskpool.reconciler"))
        var failure: (any Error)?
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await reconciler.run() }
                defer { group.cancelAll() }
                try await admin.applyPool(PoolSpec(name: "bench", template: "tiny-linux", max: desktops, spare: desktops,
                                                   naming: NamePattern("dpc-{n:02}"), users: (1...desktops).map { "user\($0)" }), actor: "bench")
                reconciler.poke()
                let deadline = ContinuousClock.now + .seconds(900)
                while try await store.desktops(pool: "bench").filter({ $0.state == .ready }).count < desktops {
                    guard ContinuousClock.now < deadline else { throw BenchFailure("the desktops did not become ready within 15 minutes") }
                    try await Task.sleep(for: .seconds(1))
                }
                progress("\(desktops) desktops ready")
                try await measure(store: store, connection: connection, libvirt: libvirt)
            }
        } catch {
            failure = error
        }
        for desktop in (try? await store.desktops(pool: nil)) ?? [] {
            try? await libvirt.destroyDesktop(named: desktop.name, volume: desktop.volumeName)
        }
        try? await libvirt.deleteVolume(named: version.volume)
        await connection.close()
        if let failure { throw failure }
    }

    private func measure(store: SQLiteStore, connection: Connection, libvirt: LibvirtHypervisor) async throws {
        var held: [(desktop: Desktop, domain: Domain, graphics: String)] = []
        for index in 1...desktops {
            guard let desktop = try await store.claimReady(pool: "bench", user: "user\(index)", actor: "bench") else { throw BenchFailure("no ready desktop") }
            let domain = try await connection.domain(named: desktop.name)
            held.append((desktop, domain, try await domain.xml()))
        }
        var gateway = GatewayConfiguration()
        gateway.enabled = true
        let timedHypervisor = TimedHypervisor(libvirt)
        // The broker as `deskpool serve` builds it (its services are not run: the pool is warm).
        let broker = Broker(store: store, hosts: Hosts([timedHypervisor], configurations: [HostConfiguration(name: "local", uri: host.uri)]),
                            configuration: Broker.Configuration(gateway: gateway), logger: { benchLogger($0) })
        // The floor's update: the same element Deskpool sends, prepared once per desktop.
        let floorUpdates = held.map { FloorUpdate(domain: $0.domain, liveXML: $0.graphics) }

        let owned = held.map(\.desktop)
        let deskpool = { @Sendable (i: Int) async throws in
            let desktop = owned[i % owned.count]
            guard case .console = try await broker.requestDesktop(SessionBroker.Principal(user: desktop.user!), pool: "bench") else {
                throw BenchFailure("\(desktop.user!) got no console")
            }
        }
        let floor = { @Sendable (i: Int) async throws in try await floorUpdates[i % floorUpdates.count].run() }

        // Warm-up: connections, statements, caches.
        for i in 0..<(2 * desktops) { try await floor(i); try await deskpool(i) }

        timedHypervisor.reset()
        var floorSequential: [Double] = [], deskpoolSequential: [Double] = []
        for i in 0..<sequential {
            floorSequential.append(try await timed { try await floor(i) })
            deskpoolSequential.append(try await timed { try await deskpool(i) })
        }
        report("sequential", count: sequential, floor: floorSequential, deskpool: deskpoolSequential)
        reportHypervisor("sequential", timedHypervisor)

        // Bursts of `concurrent` requests, the floor's and Deskpool's one after the other, the
        // order alternating round by round (one burst each moved by 10-15 ms from run to run):
        // the figures pool every round's latencies; each round's own p50s are printed too.
        var floorConcurrent: [Double] = [], deskpoolConcurrent: [Double] = []
        var floorWall = 0.0, deskpoolWall = 0.0
        timedHypervisor.reset()
        for round in 0..<rounds {
            let floorFirst = round % 2 == 0
            let first = try await concurrently(concurrent, floorFirst ? floor : deskpool)
            let second = try await concurrently(concurrent, floorFirst ? deskpool : floor)
            let (f, d) = floorFirst ? (first, second) : (second, first)
            floorConcurrent += f.latencies
            deskpoolConcurrent += d.latencies
            floorWall += f.wall
            deskpoolWall += d.wall
            print(String(format: "round %d (%@ first): floor p50 %.2f ms, Deskpool p50 %.2f ms, added %.2f ms", round + 1, floorFirst ? "floor" : "Deskpool",
                         percentile(f.latencies, 0.5) * 1000, percentile(d.latencies, 0.5) * 1000,
                         (percentile(d.latencies, 0.5) - percentile(f.latencies, 0.5)) * 1000))
        }
        reportHypervisor("concurrent", timedHypervisor)
        report("concurrent", count: concurrent * rounds, floor: floorConcurrent, deskpool: deskpoolConcurrent)
        // Each part of the request alone, at the same concurrency: where the added time goes.
        let decideOnly = try await concurrently(concurrent) { i in
            let desktop = owned[i % owned.count]
            _ = try await broker.sessions.request(SessionBroker.Principal(user: desktop.user!), pool: "bench")
        }
        let auditOnly = try await concurrently(concurrent) { i in
            try await store.audit(AuditEntry(at: Date(), actor: "u", action: "console.open", subject: "desktop/x", detail: "bench"))
        }
        let hypervisorOnly = try await concurrently(concurrent) { i in
            let desktop = owned[i % owned.count]
            _ = try await libvirt.setConsolePassword(.mint(), validUntil: Date().addingTimeInterval(30), disconnectClients: false, onDesktop: desktop.name)
        }
        print(String(format: "breakdown p50 ms: decide(store reads)=%.2f audit=%.2f hypervisor=%.2f", percentile(decideOnly.latencies, 0.5) * 1000,
                     percentile(auditOnly.latencies, 0.5) * 1000, percentile(hypervisorOnly.latencies, 0.5) * 1000))
        print(String(format: "concurrent_wall_ms floor=%.1f deskpool=%.1f", floorWall * 1000 / Double(rounds), deskpoolWall * 1000 / Double(rounds)))
    }

    private func timed(_ body: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        try await body()
        return (ContinuousClock.now - start).seconds
    }

    private func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws -> (latencies: [Double], wall: Double) {
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: Double.self) { group in
            for i in 0..<count {
                group.addTask {
                    let begin = ContinuousClock.now
                    try await body(i)
                    return (ContinuousClock.now - begin).seconds
                }
            }
            return try await group.reduce(into: [Double]()) { $0.append($1) }
        }
        return (latencies, (ContinuousClock.now - start).seconds)
    }

    private func report(_ run: String, count: Int, floor: [Double], deskpool: [Double]) {
        let (f50, f99, d50, d99) = (percentile(floor, 0.5), percentile(floor, 0.99), percentile(deskpool, 0.5), percentile(deskpool, 0.99))
        print(String(format: "%@ n=%d floor_p50_ms=%.2f floor_p99_ms=%.2f deskpool_p50_ms=%.2f deskpool_p99_ms=%.2f added_p50_ms=%.2f ratio_p50=%.2f",
                     run, count, f50 * 1000, f99 * 1000, d50 * 1000, d99 * 1000, (d50 - f50) * 1000, d50 / f50))
    }

    /// How much of Deskpool's time is its hypervisor call (XML read + live update).
    private func reportHypervisor(_ run: String, _ timed: TimedHypervisor) {
        let tally = timed.snapshot.calls["setConsolePassword"] ?? TimedHypervisor.Tally()
        print(String(format: "%@_hypervisor_mean_ms=%.2f", run, tally.total.seconds * 1000 / Double(max(1, tally.count))))
    }

    private func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }
}

/// libvirt's own live update of a desktop's SPICE password: the floor.
struct FloorUpdate: Sendable {
    let domain: Domain
    let port: String
    let listen: String

    init(domain: Domain, liveXML: String) {
        self.domain = domain
        func attribute(_ name: String) -> String {
            guard let range = liveXML.range(of: "<graphics type='spice'"), let value = liveXML[range.upperBound...].range(of: "\(name)='") else { return "" }
            return String(liveXML[value.upperBound...].prefix { $0 != "'" })
        }
        port = attribute("port")
        listen = attribute("listen")
    }

    func run() async throws {
        let password = ConsoleTicket.mint().secret
        let validTo = ISO8601DateFormatter().string(from: Date().addingTimeInterval(30)).replacingOccurrences(of: "Z", with: "")
        let xml = "<graphics type='spice' port='\(port)' autoport='yes' listen='\(listen)' passwd='\(password)' passwdValidTo='\(validTo)' connected='disconnect'><listen type='address' address='\(listen)'/></graphics>"
        try await domain.updateDevice(xml: xml, .live)
    }
}
