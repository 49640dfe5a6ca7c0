import BenchSupport
import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolPAM
import DeskpoolServer
import DeskpoolStore
import Foundation
import Hummingbird
import Libvirt
import Logging
import Synchronization

/// A broker in this process, wired as `deskpool serve` wires it: a store (SQLite, or
/// PostgreSQL shared by replicas), one test-driver host (console tickets on qemu stand-ins, see
/// `StandInConsoles`), the reconciler, the session service, consoles (with the gateway's
/// connect tokens), real PAM through `PAMLogin`, and the HTTP API on a loopback port.
struct StormBroker {
    static let pool = "storm"
    static let template = "tiny-linux"
    static let host = "td"

    let store: any Store
    let hypervisor: StandInConsoles
    let reconciler: ReconcilerService
    let sessionService: SessionService
    let leases: LeaseService?
    let server: DeskpoolHTTPServer
    let authenticator: TimedAuthenticator
    let admin: Administration

    /// The desktops' host: a test-driver node of its own (`name`), with console tickets on the
    /// qemu stand-ins. Brokers given the same one share it, as replicas share a real host.
    struct Host {
        let hypervisor: StandInConsoles
        let connections: [Connection]
        let uri: String

        func close() async {
            for connection in connections { await connection.close() }
        }
    }

    static func makeHost(_ options: StormOptions, name: String = "storm-node") async throws -> Host {
        let nodeFile = options.stateDirectory + "/\(name).xml"
        try nodeXML.write(toFile: nodeFile, atomically: true, encoding: .utf8)
        let testConnection = try await Connection.open("test://\(nodeFile)")
        let desktops = LibvirtHypervisor(host: host, connection: testConnection, storagePool: "images", domainType: "test")
        var connections = [testConnection]
        var console: LibvirtHypervisor?
        if options.consoleURI != "none" {
            let hypervisor = try await LibvirtHypervisor.connect(host: "console", uri: options.consoleURI, storagePool: "default", domainType: "kvm")
            connections.append(try hypervisor.connection)
            console = hypervisor
        }
        return Host(hypervisor: StandInConsoles(inner: desktops, console: console, standIns: options.consoleDomains), connections: connections,
                    uri: "test://\(nodeFile)")
    }

    /// The broker on `store` (the SQLite file of the state directory by default) and `host`;
    /// with `leases`, one of several replicas on the store.
    static func make(_ options: StormOptions, store: (any Store)? = nil, host: Host, leases: LeaseService.Options? = nil) async throws -> StormBroker {
        let store = try store ?? SQLiteStore(path: options.stateDirectory + "/deskpool.sqlite")
        let broker = Broker(
            store: store, hosts: Hosts([host.hypervisor], configurations: [HostConfiguration(name: Self.host, uri: host.uri)]),
            configuration: Broker.Configuration(
                reconciler: .init(broker: BrokerConfiguration(), hostLimits: [Self.host: options.hostLimit], probeInterval: .seconds(1)),
                gateway: GatewayConfiguration(), leases: leases),
            logger: { benchLogger($0) })
        let (reconciler, sessionService, admin) = (broker.reconciler, broker.tracking, broker.admin)

        var authentication = AuthenticationConfiguration()
        authentication.pamService = options.service
        authentication.maxConcurrentLogins = options.maxConcurrentLogins
        authentication.loginTimeoutSeconds = options.loginTimeoutSeconds
        let authenticator = TimedAuthenticator(PAMLogin(configuration: authentication))
        var http = HTTPConfiguration()
        http.listen = "127.0.0.1"
        http.port = 0
        let server = DeskpoolHTTPServer(
            services: BrokerServices(broker: broker, authenticator: authenticator, adminGroup: "deskpool-admins"),
            configuration: http)
        return StormBroker(store: store, hypervisor: host.hypervisor, reconciler: reconciler, sessionService: sessionService,
                           leases: broker.leases, server: server, authenticator: authenticator, admin: admin)
    }

    /// Runs the reconciler, the session service and the HTTP server (on a free loopback port,
    /// handed to `body`) while `body` runs.
    func running<T: Sendable>(_ body: @escaping @Sendable (Int) async throws -> T) async throws -> T {
        let port = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "deskpool"),
                              onServerRunning: { channel in
                                  port.continuation.yield(channel.localAddress?.port ?? 0)
                                  port.continuation.finish()
                              },
                              logger: benchLogger("deskpool.http", level: .critical))
        let leases = self.leases
        return try await withThrowingTaskGroup(of: T?.self) { group in
            if let leases { group.addTask { try await leases.run(); return nil } }
            group.addTask { try await reconciler.run(); return nil }
            group.addTask { try await sessionService.run(); return nil }
            group.addTask { try await app.run(); return nil }
            defer { group.cancelAll() }
            var iterator = port.stream.makeAsyncIterator()
            guard let listening = await iterator.next(), listening > 0 else { throw BenchFailure("the HTTP server did not start") }
            return try await body(listening)
        }
    }

    /// The template, its version (the test node's golden volume) and a floating pool of
    /// `desktops` ready desktops (max = spare = desktops, so nothing is created during the
    /// storm), entitled to the storm users' group; waits until all are ready.
    func warmPool(desktops: Int, group: String, templateDirectory: String) async throws {
        try await admin.applyTemplate(try TemplateDefinition.load(directory: templateDirectory), actor: "bench")
        _ = try await admin.publishVersion(template: Self.template, from: .volume("golden-1.qcow2"), note: "golden", actor: "bench")
        _ = try await admin.applyPool(PoolSpec(name: Self.pool, template: Self.template, max: desktops, spare: desktops,
                                               naming: NamePattern("storm-{n:04}"), groups: [group]), actor: "bench")
        reconciler.poke()
        let deadline = ContinuousClock.now + .seconds(600)
        var last = -1
        while true {
            let ready = try await store.desktops(pool: Self.pool).filter { $0.state == .ready }.count
            if ready >= desktops { break }
            if ready / 50 != last / 50 { progress("warm pool: \(ready)/\(desktops) ready"); last = ready }
            guard ContinuousClock.now < deadline else { throw BenchFailure("the pool did not become ready within 10 minutes (\(ready)/\(desktops))") }
            reconciler.poke()
            try await Task.sleep(for: .milliseconds(100))
        }
        progress("warm pool: \(desktops) ready")
    }

    /// Desktops in a session and the distinct users holding them.
    func assignments() async throws -> (desktops: Int, users: Int) {
        let held = try await store.desktops(pool: Self.pool).filter { $0.state.isInSession }
        return (held.count, Set(held.compactMap(\.user)).count)
    }

    /// A test-driver node big enough for the pool: placement counts free memory and disk.
    static let nodeXML = """
        <?xml version="1.0"?>
        <node>
          <cpu><nodes>1</nodes><sockets>1</sockets><cores>64</cores><threads>2</threads><active>128</active><mhz>2400</mhz><model>x86_64</model></cpu>
          <memory>4294967296</memory>
          <pool type='dir'>
            <name>images</name>
            <uuid>35bb2ad9-388a-cdfe-461a-b8907f6e53fe</uuid>
            <capacity unit='bytes'>109951162777600</capacity>
            <allocation unit='bytes'>1073741824</allocation>
            <available unit='bytes'>109950089035776</available>
            <target><path>/var/lib/deskpool-storm/images</path></target>
            <volume type='file'>
              <name>golden-1.qcow2</name>
              <capacity unit='bytes'>1073741824</capacity>
              <allocation unit='bytes'>1073741824</allocation>
              <target><format type='qcow2'/></target>
            </volume>
          </pool>
        </node>
        """
}

/// The broker's logs at warning and above (`level`), on standard error. The HTTP server's are
/// at critical: it logs the cancellation that stops it at the end as an error.
func benchLogger(_ label: String, level: Logger.Level = .warning) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = level
    return logger
}
