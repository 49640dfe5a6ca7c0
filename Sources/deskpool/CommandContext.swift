import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import Foundation
import Logging

/// What every broker command needs: the configuration, the store and the hosts.
struct CommandContext {
    let configuration: DeskpoolConfiguration
    let store: any Store
    let hypervisors: [any Hypervisor]

    /// The SQLite file under the state directory.
    static func storePath(_ configuration: DeskpoolConfiguration) -> String {
        URL(fileURLWithPath: configuration.stateDirectory).appendingPathComponent("deskpool.sqlite").path
    }

    /// The store the configuration names: PostgreSQL (`store.url`), or the SQLite file.
    static func openStore(_ configuration: DeskpoolConfiguration) async throws -> any Store {
        guard let url = configuration.store.url else { return try SQLiteStore(path: storePath(configuration)) }
        let settings = try PostgresStore.Settings.parse(url: url, password: try configuration.store.password())
        return try await PostgresStore(settings, logger: Logger(label: "deskpool.store"))
    }

    /// The state directory, which must be 0700 (0711 when a storage pool lies inside it).
    static func stateDirectory(_ configuration: DeskpoolConfiguration) -> StateDirectory {
        StateDirectory(path: configuration.stateDirectory, storagePaths: configuration.hosts.map(\.storagePath))
    }

    /// How a command reaches the hosts.
    enum Hosts {
        /// Not at all (commands that only read the store).
        case none
        /// Connect now; a host that cannot be reached is an error (CLI commands).
        case connect
        /// Supervised links (`HostLink`) that the caller runs as services: a host that is
        /// down is reported and tried again (`deskpool serve`).
        case supervise
    }

    /// Loads the configuration and opens the store; reaches the hosts as `hosts` says.
    static func open(_ options: ConfigOptions, hosts: Hosts = .connect) async throws -> CommandContext {
        let (configuration, _) = try options.load()
        try stateDirectory(configuration).prepare()
        let store = try await openStore(configuration)
        var hypervisors: [any Hypervisor] = []
        for host in configuration.hosts {
            switch hosts {
            case .none: break
            case .connect:
                hypervisors.append(try await Self.connect(host, instance: configuration.broker.instance, templatePolicy: configuration.templates.domainXMLPolicy))
            case .supervise:
                let link = HostLink(host: host.name, uri: host.uri, options: HostLink.Options(host), logger: Logger(label: "deskpool.host"))
                hypervisors.append(Self.hypervisor(host, link: link, instance: configuration.broker.instance, templatePolicy: configuration.templates.domainXMLPolicy))
            }
        }
        return CommandContext(configuration: configuration, store: store, hypervisors: hypervisors)
    }

    static func connect(_ host: HostConfiguration, instance: String,
                        templatePolicy: DomainXMLPolicy = DomainXMLPolicy()) async throws(DeskpoolError) -> LibvirtHypervisor {
        let link = try await HostLink.connect(host: host.name, uri: host.uri, options: HostLink.Options(host))
        return hypervisor(host, link: link, instance: instance, templatePolicy: templatePolicy)
    }

    static func hypervisor(_ host: HostConfiguration, link: HostLink, instance: String, templatePolicy: DomainXMLPolicy) -> LibvirtHypervisor {
        // Whether KVM can run guests is known only for the local host; remote hosts are
        // taken to have it unless the configuration says tcg.
        let local = host.uri.hasPrefix("qemu:///") || host.uri.hasPrefix("test:///")
        let kvmUsable = local ? HostFacts.acceleration() == .kvm : true
        return LibvirtHypervisor(host: host.name, link: link, storagePool: host.storagePool, domainType: host.domainType(kvmUsable: kvmUsable),
                                 consoleListen: host.consoleListen, instance: instance, templatePolicy: templatePolicy)
    }

    /// The supervised links of the hosts, for `deskpool serve` to run as services.
    var links: [HostLink] { hypervisors.compactMap { ($0 as? LibvirtHypervisor)?.link } }

    var admin: Administration {
        Administration(store: store, hypervisors: hypervisors, images: configuration.images, templatePolicy: configuration.templates.domainXMLPolicy,
                       secrets: configuration.secrets.names)
    }

    /// The key that signs connect tokens for the SPICE gateway, created on first use: in the
    /// PostgreSQL store when there is one (every broker on it shares the key), else in the
    /// state directory (`console-token.key`, 0600) so the CLI and the running broker share it.
    func tokenKey() async throws -> ConnectTokenKey {
        if configuration.store.url != nil {
            return ConnectTokenKey(bytes: try await store.secret(named: "console-token") { ConnectTokenKey.randomBytes() })
        }
        try Self.stateDirectory(configuration).prepare()
        return try ConnectTokenKey.load(orCreateAt: URL(fileURLWithPath: configuration.stateDirectory).appendingPathComponent("console-token.key").path)
    }

    /// The broker over this store and these hosts, as the configuration says, signing connect
    /// tokens with `tokenKey` (default: the store's or the state directory's key). With
    /// `replica`, and a PostgreSQL store, it shares the work with the other replicas on the
    /// store through leases (`deskpool serve`).
    func broker(tokenKey: ConnectTokenKey? = nil, replica: Bool = false) async throws -> Broker {
        let key: ConnectTokenKey
        if let tokenKey { key = tokenKey } else { key = try await self.tokenKey() }
        var tls: [String: VirtViewerFile.TLS] = [:]
        for host in configuration.hosts { if let spiceTLS = host.spiceTLS { tls[host.name] = try spiceTLS.load() } }
        let limits = Dictionary(configuration.hosts.map { ($0.name, $0.maxConcurrentOperations) }, uniquingKeysWith: { a, _ in a })
        return Broker(
            store: store, hosts: DeskpoolCore.Hosts(hypervisors, configurations: configuration.hosts),
            configuration: Broker.Configuration(
                reconciler: .init(broker: configuration.broker, hostLimits: limits, secrets: configuration.secrets), gateway: configuration.gateway,
                tokenKey: key, tls: tls, images: configuration.images,
                templatePolicy: configuration.templates.domainXMLPolicy, leases: replica ? leaseOptions : nil))
    }

    /// The leases of a replica on a PostgreSQL store; nil for a SQLite store (one broker).
    var leaseOptions: LeaseService.Options? {
        guard configuration.store.url != nil else { return nil }
        return LeaseService.Options(replica: configuration.broker.replicaName, duration: .seconds(configuration.broker.leaseSeconds))
    }

    /// A logger that writes to standard error at `DESKPOOL_LOG_LEVEL` (default info).
    static func bootstrapLogging() {
        let level = ProcessInfo.processInfo.environment["DESKPOOL_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            // Client text (names, addresses, errors) reaches the log: escaped and capped there.
            var handler = SafeLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
    }
}
