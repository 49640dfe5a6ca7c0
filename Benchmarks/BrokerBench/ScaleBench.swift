import BenchSupport
import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import Foundation
import Libvirt

/// Scale: `hosts` test-driver hosts with `perHost` running desktops each, all `ready` in a
/// SQLite store; then full reconcile passes are timed in steady state (each must take no
/// action), and the process's memory is read.
struct ScaleBench {
    let directory: String
    let hosts: Int
    let perHost: Int
    let passes: Int
    let templateDirectory: String
    let profile: Bool
    let raw: Bool

    init(_ arguments: Arguments) {
        directory = arguments.string("dir")
        hosts = arguments.int("hosts", 10)
        perHost = arguments.int("per-host", 1000)
        passes = arguments.int("passes", 7)
        templateDirectory = arguments.string("template")
        profile = arguments.int("profile", 0) != 0
        raw = arguments.string("build", "hypervisor") == "raw"
    }

    /// Defines, starts and clones with plain libvirt calls: one domain XML rendered once,
    /// names and ids swapped in as text (no XML parsing per desktop).
    static func buildRaw(_ desktops: [Desktop], on hypervisor: LibvirtHypervisor, base: String, template: TemplateDefinition) async throws {
        let pool = try await hypervisor.connection.storagePool(named: hypervisor.storagePool)
        let baseVolume = try await pool.volume(named: base)
        let capacity = try await baseVolume.info().capacityBytes
        let volumeXML = """
            <volume type='file'><name>BENCHVOLUME</name><capacity unit='bytes'>\(capacity)</capacity><allocation unit='bytes'>0</allocation>\
            <target><format type='qcow2'/></target><backingStore><path>\(baseVolume.path)</path><format type='qcow2'/></backingStore></volume>
            """
        let identity = DesktopIdentity(id: "BENCHID", name: "BENCHNAME", pool: "BENCHPOOL", template: template.name, version: 1, incarnation: 1, generation: 1)
        let domainXML = try DesktopDomainXML(identity: identity, template: template, domainType: "test", volumePath: "/BENCHPATH",
                                             consoleListen: "127.0.0.1", instance: hypervisor.instance).render()
        for desktop in desktops {
            let clone = try await pool.createVolume(xml: volumeXML.replacingOccurrences(of: "BENCHVOLUME", with: desktop.volumeName))
            let xml = domainXML.replacingOccurrences(of: "BENCHNAME", with: desktop.name).replacingOccurrences(of: "BENCHID", with: desktop.id)
                .replacingOccurrences(of: "BENCHPOOL", with: desktop.pool).replacingOccurrences(of: "/BENCHPATH", with: clone.path)
            let domain = try await hypervisor.connection.defineDomain(xml: xml)
            try await domain.start()
        }
    }

    /// Times the pieces of a pass one by one, with the memory each leaves behind.
    func profilePieces(store: SQLiteStore, hypervisors: [LibvirtHypervisor]) async throws {
        func piece(_ name: String, _ body: () async throws -> Void) async rethrows {
            for _ in 0..<3 {
                let before = memoryMiB().rss
                let start = ContinuousClock.now
                try await body()
                progress(String(format: "profile %@: %.3f s, RSS %+.1f MiB", name, (ContinuousClock.now - start).seconds, memoryMiB().rss - before))
            }
        }
        let one = hypervisors[0]
        try await piece("store.desktops(all)") { _ = try await store.desktops(pool: nil) }
        try await piece("observe(one host)") { _ = try await one.observe() }
        try await piece("listDomains(one host)") { _ = try await one.connection.listDomains() }
        try await piece("metadata calls(one host)") {
            for listing in try await one.connection.listDomains() { _ = try await listing.domain.metadata(namespaceURI: DesktopDomainXML.namespace) }
        }
        try await piece("metadata calls+parse(one host)") {
            for listing in try await one.connection.listDomains() {
                _ = try await listing.domain.metadata(namespaceURI: DesktopDomainXML.namespace).flatMap(DesktopDomainXML.identity(fromMetadata:))
            }
        }
        let template = try TemplateDefinition.load(directory: templateDirectory)
        let identity = DesktopIdentity(id: "x", name: "x", pool: "x", template: "x", version: 1, incarnation: 1, generation: 1)
        try await piece("1000 x DesktopDomainXML.render") {
            for _ in 0..<1000 {
                _ = try DesktopDomainXML(identity: identity, template: template, domainType: "test", volumePath: "/x", consoleListen: "127.0.0.1").render()
            }
        }
        try await piece("deskpoolVolumes(one host)") { _ = try await one.deskpoolVolumes() }
        try await piece("capacity(one host)") { _ = try await one.capacity() }
    }

    func run() async throws {
        let store = try SQLiteStore(path: directory + "/deskpool.sqlite")
        var hypervisors: [LibvirtHypervisor] = []
        for index in 1...hosts {
            let node = directory + "/node-\(index).xml"
            try Self.nodeXML(index).write(toFile: node, atomically: true, encoding: .utf8)
            let connection = try await Connection.open("test://\(node)")
            hypervisors.append(LibvirtHypervisor(host: Self.hostName(index), connection: connection, storagePool: "images", domainType: "test"))
        }
        let admin = Administration(store: store, hypervisors: hypervisors)
        let template = try TemplateDefinition.load(directory: templateDirectory)
        try await admin.applyTemplate(template, actor: "bench")
        let version = try await admin.publishVersion(template: template.name, from: .volume("golden.qcow2"), note: "bench", actor: "bench")

        var specs: [PoolSpec] = []
        for (offset, hypervisor) in hypervisors.enumerated() {
            let index = offset + 1
            let spec = PoolSpec(name: "pool-\(index)", template: template.name, min: perHost, max: perHost, spare: 0,
                                naming: NamePattern(String(format: "h%02d-{n:04}", index)), hosts: [hypervisor.host])
            specs.append(try await admin.applyPool(spec, actor: "bench"))
        }
        let desktops = zip(specs, hypervisors).map { spec, hypervisor in
            (1...perHost).map { n in
                Desktop(name: spec.naming.name(n), pool: spec.name, host: hypervisor.host, template: template.name,
                        version: version.number, state: .ready, generation: spec.generation, createdAt: Date())
            }
        }

        // Build: every desktop's clone and domain made and started, then its record written
        // as `ready`. Through the hypervisor (createDesktop + startDesktop), or `raw`: the
        // same XML and volumes defined with plain libvirt calls, to tell how much of the
        // process's memory is the test driver's state (on a real host it lives in libvirtd).
        let beforeBuild = memoryMiB()
        let building = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (hypervisor, hostDesktops) in zip(hypervisors, desktops) {
                group.addTask {
                    if raw {
                        try await Self.buildRaw(hostDesktops, on: hypervisor, base: version.volume, template: template)
                    } else {
                        for desktop in hostDesktops {
                            try await hypervisor.createDesktop(desktop.identity, base: version.volume, template: template)
                            try await hypervisor.startDesktop(named: desktop.name)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let afterDomains = memoryMiB()
        for desktop in desktops.joined() {
            guard try await store.insertDesktop(desktop, actor: "bench", limit: nil) else { throw BenchFailure("insert \(desktop.name)") }
        }
        let built = (ContinuousClock.now - building).seconds
        progress(String(format: "built %d desktops on %d hosts in %.1f s (%@)", hosts * perHost, hosts, built, raw ? "raw libvirt calls" : "through the hypervisor"))
        let afterBuild = memoryMiB()

        if profile { try await profilePieces(store: store, hypervisors: hypervisors) }

        let reconciler = ReconcilerService(store: store, hypervisors: hypervisors, logger: benchLogger("deskpool.reconciler"))
        // One untimed pass first (warms caches the way a running broker's first pass does).
        var times: [Double] = []
        for pass in 0...passes {
            let start = ContinuousClock.now
            let actions = await reconciler.reconcileOnce()
            let elapsed = (ContinuousClock.now - start).seconds
            guard actions == 0 else { throw BenchFailure("steady-state pass \(pass) took \(actions) action(s); expected none") }
            if pass > 0 { times.append(elapsed) }
            progress(String(format: "pass %d: %.3f s, %d actions%@", pass, elapsed, actions, pass == 0 ? " (warm-up, not counted)" : ""))
        }
        times.sort()
        let memory = memoryMiB()
        print("desktops=\(hosts * perHost) hosts=\(hosts) passes=\(times.count)")
        print(String(format: "build_s=%.1f", built))
        print(String(format: "pass_min_s=%.4f pass_median_s=%.4f pass_max_s=%.4f", times.first!, times[times.count / 2], times.last!))
        print(String(format: "rss_mib=%.1f hwm_mib=%.1f rss_before_build_mib=%.1f rss_after_domains_mib=%.1f rss_after_build_mib=%.1f",
                     memory.rss, memory.hwm, beforeBuild.rss, afterDomains.rss, afterBuild.rss))
        for hypervisor in hypervisors { await hypervisor.link.lastConnection?.close() }
    }

    static func hostName(_ index: Int) -> String { String(format: "host-%02d", index) }

    /// A test-driver node: plenty of memory (placement must never be the limit), one dir
    /// storage pool with a golden image. Each `test:///PATH` connection has its own state.
    static func nodeXML(_ index: Int) -> String {
        """
        <node>
          <cpu><nodes>1</nodes><sockets>1</sockets><cores>64</cores><threads>2</threads><active>128</active><mhz>2400</mhz><model>x86_64</model></cpu>
          <memory>4294967296</memory>
          <pool type='dir'>
            <name>images</name>
            <uuid>35bb2ad9-388a-cdfe-461a-b8907f6e5\(String(format: "%03d", index))</uuid>
            <capacity unit='bytes'>10995116277760</capacity>
            <allocation unit='bytes'>1073741824</allocation>
            <available unit='bytes'>10994042535936</available>
            <target><path>/var/lib/deskpool-bench/host-\(index)</path></target>
            <volume type='file'>
              <name>golden.qcow2</name>
              <capacity unit='bytes'>2147483648</capacity>
              <allocation unit='bytes'>1073741824</allocation>
              <target><format type='qcow2'/></target>
            </volume>
          </pool>
        </node>
        """
    }
}
