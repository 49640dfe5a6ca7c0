import BenchSupport
import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import Foundation
import Libvirt

/// Scale with replicas, in two steps run by `scripts/bench-scale replicas`:
///
/// - `replica-setup` writes `hosts` test-driver node files, each with `perHost` running
///   desktops (their Deskpool metadata and clone volumes in the file), and stores the same
///   desktops as `ready` records in a PostgreSQL store, with a pool per host.
/// - `replica` is one broker replica: it connects to every host through libvirtd
///   (`test+unix:///NODE.xml`: the test driver's state lives in libvirtd, as a real host's
///   does, so this process's memory is the broker's own), shares the work with the other
///   replicas through leases, and once all of them hold their share, times steady-state
///   reconcile passes (each must take no action) with the statements each sends to
///   PostgreSQL; then it reads its memory.
///
/// Each replica's libvirt connection to a node file has its own copy of the file's state in
/// libvirtd; in steady state nothing changes, so the copies stay alike.
struct ReplicaScaleSetup {
    let directory: String
    let hosts: Int
    let perHost: Int
    let templateDirectory: String
    let store: PostgresStore.Settings

    init(_ arguments: Arguments) throws {
        directory = arguments.string("dir")
        hosts = arguments.int("hosts", 50)
        perHost = arguments.int("per-host", 400)
        templateDirectory = arguments.string("template")
        var settings = try storeSettings(arguments)
        // Setting up is not what is measured: a slow insert (a checkpoint) is waited for.
        settings.operationTimeout = .seconds(300)
        store = settings
    }

    func run() async throws {
        let store = try await PostgresStore(store)
        defer { store.close() }
        let template = try TemplateDefinition.load(directory: templateDirectory)
        // The admin's steps need the hosts (the golden volume); in-process connections to the
        // node files, written first with the golden volume only.
        var hypervisors: [LibvirtHypervisor] = []
        for index in 1...hosts {
            let node = Self.nodePath(directory, index)
            try Self.nodeXML(index, desktops: [], template: template).write(toFile: node, atomically: true, encoding: .utf8)
            hypervisors.append(LibvirtHypervisor(host: ScaleBench.hostName(index), connection: try await Connection.open("test://\(node)"),
                                                 storagePool: "images", domainType: "test"))
        }
        let admin = Administration(store: store, hypervisors: hypervisors)
        try await admin.applyTemplate(template, actor: "bench")
        let version = try await admin.publishVersion(template: template.name, from: .volume("golden.qcow2"), note: "bench", actor: "bench")
        for hypervisor in hypervisors { await hypervisor.link.lastConnection?.close() }

        let started = ContinuousClock.now
        for index in 1...hosts {
            let host = ScaleBench.hostName(index)
            let spec = try await admin.applyPool(PoolSpec(name: "pool-\(index)", template: template.name, min: perHost, max: perHost, spare: 0,
                                                          naming: NamePattern(String(format: "h%02d-{n:04}", index)), hosts: [host]), actor: "bench")
            let desktops = (1...perHost).map { n in
                Desktop(name: spec.naming.name(n), pool: spec.name, host: host, template: template.name, version: version.number,
                        state: .ready, generation: spec.generation, createdAt: Date())
            }
            try Self.nodeXML(index, desktops: desktops, template: template).write(toFile: Self.nodePath(directory, index), atomically: true, encoding: .utf8)
            for desktop in desktops {
                guard try await store.insertDesktop(desktop, actor: "bench", limit: nil) else { throw BenchFailure("insert \(desktop.name)") }
            }
            if index % 10 == 0 { progress("setup: \(index)/\(hosts) hosts written and stored") }
        }
        progress(String(format: "setup: %d desktops on %d hosts in %.1f s", hosts * perHost, hosts, (ContinuousClock.now - started).seconds))
    }

    static func nodePath(_ directory: String, _ index: Int) -> String { directory + "/node-\(index).xml" }

    /// `ScaleBench`'s node with the desktops in it: each a running domain with its Deskpool
    /// metadata and its clone volume in the storage pool.
    static func nodeXML(_ index: Int, desktops: [Desktop], template: TemplateDefinition) throws -> String {
        let base = ScaleBench.nodeXML(index)
        let path = "/var/lib/deskpool-bench/host-\(index)"
        let volumes = desktops.map { desktop in
            """
                <volume type='file'><name>\(desktop.volumeName)</name><capacity unit='bytes'>2147483648</capacity>\
            <allocation unit='bytes'>0</allocation><target><format type='qcow2'/></target></volume>
            """
        }.joined(separator: "\n")
        let domains = try desktops.map { desktop in
            try DesktopDomainXML(identity: desktop.identity, template: template, domainType: "test", volumePath: "\(path)/\(desktop.volumeName)",
                                 consoleListen: "127.0.0.1").render()
                .replacingOccurrences(of: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", with: "")
        }.joined(separator: "\n")
        return base.replacingOccurrences(of: "    </volume>\n  </pool>", with: "    </volume>\n\(volumes)\n  </pool>")
            .replacingOccurrences(of: "</node>", with: "\(domains)\n</node>")
    }
}

/// One replica of `ReplicaScaleSetup`'s broker (see there).
struct ReplicaScaleRun {
    let directory: String
    let hosts: Int
    let replica: String
    let replicas: Int
    let passes: Int
    let lease: Duration
    let store: PostgresStore.Settings

    init(_ arguments: Arguments) throws {
        directory = arguments.string("dir")
        hosts = arguments.int("hosts", 50)
        replica = arguments.string("replica")
        replicas = arguments.int("replicas", 3)
        passes = arguments.int("passes", 7)
        lease = .seconds(arguments.int("lease", 5))
        store = try storeSettings(arguments)
    }

    func run() async throws {
        let store = try await PostgresStore(store)
        defer { store.close() }
        var hypervisors: [LibvirtHypervisor] = []
        for index in 1...hosts {
            let connection = try await Connection.open("test+unix://\(ReplicaScaleSetup.nodePath(directory, index))")
            hypervisors.append(LibvirtHypervisor(host: ScaleBench.hostName(index), connection: connection, storagePool: "images", domainType: "test"))
        }
        let leases = LeaseService(store: store, options: .init(replica: replica, duration: lease), hosts: hypervisors.map(\.host),
                                  logger: benchLogger("deskpool.leases"))
        let reconciler = ReconcilerService(store: store, hosts: Hosts(hypervisors), logger: benchLogger("deskpool.reconciler"), ownership: leases)
        let work = hosts + 2
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await leases.run() }
            defer { group.cancelAll() }
            // Every piece of work held, by `replicas` replicas alive, none over its share, for
            // two renewals in a row: the work is spread and stays put.
            let share = (work + replicas - 1) / replicas
            var steady = 0
            let deadline = ContinuousClock.now + .seconds(120)
            while steady < 2 {
                guard ContinuousClock.now < deadline else { throw BenchFailure("the work was not shared within 120 s") }
                try await Task.sleep(for: lease / 3)
                let live = try await store.leases().filter(\.live)
                let owners = live.filter { !$0.name.hasPrefix("replica/") }
                let counts = Dictionary(grouping: owners, by: \.holder).mapValues(\.count)
                let spread = owners.count == work && live.count - owners.count == replicas && counts.values.allSatisfy { $0 <= share }
                steady = spread ? steady + 1 : 0
            }
            try await rendezvous("shared")
            let held = leases.heldWork
            let ownHosts = held.filter { if case .host = $0 { true } else { false } }.count
            let sizing = held.contains(.pools)
            progress("\(replica): drives \(ownHosts) hosts\(sizing ? ", sizes the pools" : "")")

            var times: [Double] = []
            var statements: [Int] = []
            for pass in 0...passes {
                let counter = PostgresStore.StatementCount()
                let start = ContinuousClock.now
                let actions = await PostgresStore.$statements.withValue(counter) { await reconciler.reconcileOnce() }
                let elapsed = (ContinuousClock.now - start).seconds
                let count = counter.value
                guard actions == 0 else { throw BenchFailure("\(replica): steady-state pass \(pass) took \(actions) action(s); expected none") }
                if pass > 0 {
                    times.append(elapsed)
                    statements.append(count)
                }
                progress(String(format: "%@ pass %d: %.3f s, %d statements%@", replica, pass, elapsed, count, pass == 0 ? " (warm-up, not counted)" : ""))
            }
            times.sort()
            statements.sort()
            let memory = memoryMiB()
            print("replica=\(replica) hosts=\(ownHosts) sizing=\(sizing ? 1 : 0) passes=\(times.count)")
            print(String(format: "pass_min_s=%.4f pass_median_s=%.4f pass_max_s=%.4f", times.first!, times[times.count / 2], times.last!))
            print("statements_min=\(statements.first!) statements_median=\(statements[statements.count / 2]) statements_max=\(statements.last!)")
            print(String(format: "rss_mib=%.1f hwm_mib=%.1f", memory.rss, memory.hwm))
            // Hold the leases until every replica is done, so the others' passes stay steady.
            try await rendezvous("done")
        }
        for hypervisor in hypervisors { await hypervisor.link.lastConnection?.close() }
    }

    /// Waits until every replica reached `point` (a file per replica in the run's directory).
    private func rendezvous(_ point: String) async throws {
        _ = FileManager.default.createFile(atPath: "\(directory)/\(point)-\(replica)", contents: nil)
        let deadline = ContinuousClock.now + .seconds(600)
        while try FileManager.default.contentsOfDirectory(atPath: directory).filter({ $0.hasPrefix("\(point)-") }).count < replicas {
            guard ContinuousClock.now < deadline else { throw BenchFailure("\(replica): the other replicas did not reach \(point)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// `--store URL` with the password from the first line of `--password-file`.
func storeSettings(_ arguments: Arguments) throws -> PostgresStore.Settings {
    let password = try String(contentsOfFile: arguments.string("password-file"), encoding: .utf8).split(separator: "\n").first.map(String.init)
    return try PostgresStore.Settings.parse(url: arguments.string("store"), password: password)
}
