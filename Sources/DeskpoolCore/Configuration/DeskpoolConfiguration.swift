import Foundation

/// Everything in `etc/deskpool.yaml`. Every key is optional; a missing key takes the default
/// documented next to it. Unknown keys are errors.
public struct DeskpoolConfiguration: Sendable, Hashable, Decodable {
    /// Where the broker keeps its state (the SQLite store unless `store.url` names PostgreSQL,
    /// the console-token key, uploads).
    public var stateDirectory: String = "/var/lib/deskpool"
    /// The hypervisor hosts desktops run on. Default: one host, `local`, at qemu:///system.
    public var hosts: [HostConfiguration] = [HostConfiguration()]
    public var authentication = AuthenticationConfiguration()
    public var broker = BrokerConfiguration()
    public var gateway = GatewayConfiguration()
    public var http = HTTPConfiguration()
    /// Template images: the import directory and size limits.
    public var images = ImageImportConfiguration()
    /// What templates' domain XML may carry beyond a desktop's needs.
    public var templates = TemplatesConfiguration()
    /// Where the state is kept: SQLite in `stateDirectory` (default), or PostgreSQL.
    public var store = StoreConfiguration()
    /// Secrets identity seeds may use (name: a file on the broker's host, readable by root
    /// only), e.g. a directory join password; pools name them, the API never carries them.
    public var secrets = Secrets()

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case stateDirectory, hosts, authentication, broker, gateway, http, images, templates, store, secrets
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "the top level")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let directory = try container.decodeIfPresent(String.self, forKey: .stateDirectory) {
            guard directory.hasPrefix("/") else {
                throw try container.superDecoder(forKey: .stateDirectory).invalid("stateDirectory must be an absolute path")
            }
            stateDirectory = directory
        }
        if let hosts = try container.decodeIfPresent([HostConfiguration].self, forKey: .hosts) {
            guard !hosts.isEmpty else {
                throw try container.superDecoder(forKey: .hosts).invalid("hosts must list at least one host")
            }
            var seen = Set<String>()
            for host in hosts where !seen.insert(host.name).inserted {
                throw try container.superDecoder(forKey: .hosts).invalid("hosts: the name '\(host.name)' is used twice")
            }
            self.hosts = hosts
        }
        broker = try container.decodeIfPresent(BrokerConfiguration.self, forKey: .broker) ?? broker
        authentication = try container.decodeIfPresent(AuthenticationConfiguration.self, forKey: .authentication) ?? authentication
        gateway = try container.decodeIfPresent(GatewayConfiguration.self, forKey: .gateway) ?? gateway
        http = try container.decodeIfPresent(HTTPConfiguration.self, forKey: .http) ?? http
        images = try container.decodeIfPresent(ImageImportConfiguration.self, forKey: .images) ?? images
        templates = try container.decodeIfPresent(TemplatesConfiguration.self, forKey: .templates) ?? templates
        store = try container.decodeIfPresent(StoreConfiguration.self, forKey: .store) ?? store
        if let raw = try container.decodeIfPresent([String: String].self, forKey: .secrets) {
            let decoder = try container.superDecoder(forKey: .secrets)
            secrets = try Secrets.decode(raw) { decoder.invalid($0) }
        }
        images.uploadDirectory = URL(fileURLWithPath: stateDirectory).appendingPathComponent("uploads").path
        // Unless set, the import directory lives in the state directory too: a broker with its
        // own stateDirectory (a test rig, a second installation) never touches another's.
        let imageKeys = try? container.nestedContainer(keyedBy: ImageImportConfiguration.CodingKeys.self, forKey: .images)
        if imageKeys?.contains(.importDirectory) != true {
            images.importDirectory = URL(fileURLWithPath: stateDirectory).appendingPathComponent("import").path
        }
    }

    /// The file the broker reads when none is given, if it exists.
    public static let defaultPath = "/etc/deskpool/deskpool.yaml"

    /// Names Deskpool passes to libvirt and PAM (pools, services): letters, digits, `.`, `_`,
    /// `-`, starting with a letter or digit, at most 64 characters.
    public static func isSafeName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 64 else { return false }
        let allowed = { (c: Unicode.Scalar) in c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "." || c == "_" || c == "-") }
        return first.isASCII && (first.properties.isAlphabetic || ("0"..."9").contains(first)) && name.unicodeScalars.allSatisfy(allowed)
    }
}

/// One hypervisor host: how the broker reaches it and how hard it may be driven.
public struct HostConfiguration: Sendable, Hashable, Decodable {
    /// The host's name in pool files (`hosts:`) and desktop records.
    public var name: String = "local"
    /// libvirt URI of the host.
    public var uri: String = "qemu:///system"
    /// `auto` (KVM where it can run real guests, else TCG), `kvm` or `tcg`.
    public var acceleration: AccelerationSetting = .auto
    /// The libvirt storage pool (a dir pool) for base images and desktop disks.
    public var storagePool: String = "deskpool"
    /// The pool's directory, used when `deskpool doctor --fix` creates the pool.
    public var storagePath: String = "/var/lib/deskpool-images"
    /// Clones, defines and starts that may run at once on this host (more wait their turn).
    public var maxConcurrentOperations: Int = 4
    /// The address the desktops' SPICE displays listen on.
    public var consoleListen: String = "127.0.0.1"
    /// The address clients (or the SPICE gateway) reach those displays at; default: the
    /// listen address (which must then not be 0.0.0.0 or ::).
    public var consoleAddress: String?

    /// SPICE over TLS on this host (qemu.conf `spice_tls = 1`); nil: plain SPICE only.
    public var spiceTLS: SpiceTLSConfiguration?

    /// Seconds between the broker's probes of libvirtd on the host's connection.
    public var keepAliveIntervalSeconds: Int = 2
    /// A probe not answered within interval × count seconds drops the connection (a frozen
    /// or vanished libvirtd is found out within about interval × (count + 1) seconds) and the
    /// broker reconnects.
    public var keepAliveCount: Int = 3

    /// Where `.vv` files and the gateway connect to this host's consoles.
    public var consoleReachableAddress: String { consoleAddress ?? consoleListen }

    public init(name: String = "local", uri: String = "qemu:///system") {
        self.name = name
        self.uri = uri
    }

    /// The libvirt domain type for this host's desktops: `kvm`, or `qemu` (TCG).
    public func domainType(kvmUsable: Bool) -> String {
        switch acceleration {
        case .kvm: "kvm"
        case .tcg: "qemu"
        case .auto: kvmUsable ? "kvm" : "qemu"
        }
    }

    public enum AccelerationSetting: String, Sendable, Hashable, Decodable, CaseIterable {
        case auto, kvm, tcg
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, uri, acceleration, storagePool, storagePath, maxConcurrentOperations, consoleListen, consoleAddress, spiceTLS
        case keepAliveIntervalSeconds, keepAliveCount
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "a host")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let name = try container.decodeIfPresent(String.self, forKey: .name) {
            guard DeskpoolConfiguration.isSafeName(name) else {
                throw try container.superDecoder(forKey: .name).invalid("hosts.name must be letters, digits, '.', '_' or '-' (at most 64)")
            }
            self.name = name
        }
        maxConcurrentOperations = try container.decodeBounded(.maxConcurrentOperations, 1...64) ?? maxConcurrentOperations
        keepAliveIntervalSeconds = try container.decodeBounded(.keepAliveIntervalSeconds, 1...60) ?? keepAliveIntervalSeconds
        keepAliveCount = try container.decodeBounded(.keepAliveCount, 1...20) ?? keepAliveCount
        if let listen = try container.decodeIfPresent(String.self, forKey: .consoleListen) {
            guard !listen.isEmpty, listen.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) else {
                throw try container.superDecoder(forKey: .consoleListen).invalid("hosts.consoleListen must be an IP address")
            }
            consoleListen = listen
        }
        spiceTLS = try container.decodeIfPresent(SpiceTLSConfiguration.self, forKey: .spiceTLS)
        if let address = try container.decodeIfPresent(String.self, forKey: .consoleAddress) {
            guard !address.isEmpty, address.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:".contains($0)) }) else {
                throw try container.superDecoder(forKey: .consoleAddress).invalid("hosts.consoleAddress must be a host name or IP address")
            }
            consoleAddress = address
        } else if consoleListen == "0.0.0.0" || consoleListen == "::" {
            throw try container.superDecoder(forKey: .consoleListen).invalid("hosts.consoleListen is \(consoleListen): set hosts.consoleAddress to the address clients reach this host at")
        }
        if let uri = try container.decodeIfPresent(String.self, forKey: .uri) {
            guard uri.contains(":///") || uri.contains("://") else {
                throw try container.superDecoder(forKey: .uri).invalid("hosts.uri must be a libvirt URI such as qemu:///system")
            }
            self.uri = uri
        }
        if let text = try container.decodeIfPresent(String.self, forKey: .acceleration) {
            guard let setting = AccelerationSetting(rawValue: text) else {
                throw try container.superDecoder(forKey: .acceleration).invalid("hosts.acceleration must be auto, kvm or tcg, not '\(text)'")
            }
            acceleration = setting
        }
        if let pool = try container.decodeIfPresent(String.self, forKey: .storagePool) {
            guard DeskpoolConfiguration.isSafeName(pool) else {
                throw try container.superDecoder(forKey: .storagePool).invalid("hosts.storagePool must be letters, digits, '.', '_' or '-' (at most 64)")
            }
            storagePool = pool
        }
        if let path = try container.decodeIfPresent(String.self, forKey: .storagePath) {
            guard path.hasPrefix("/") else {
                throw try container.superDecoder(forKey: .storagePath).invalid("hosts.storagePath must be an absolute path")
            }
            storagePath = path
        }
    }
}

/// How users log in.
public struct AuthenticationConfiguration: Sendable, Hashable, Decodable {
    /// The PAM service: /etc/pam.d/<service>. Deskpool ships etc/pam.d/deskpool.
    public var pamService: String = "deskpool"
    /// Members of this group get the admin role.
    public var adminGroup: String = "deskpool-admins"
    /// PAM login conversations that may be open at once, each on its own thread (also while it
    /// waits for its user's answer: a one-time code, a new password); more wait.
    public var maxConcurrentLogins: Int = 256
    /// Seconds one PAM login may take once it runs (a hung module or directory).
    public var loginTimeoutSeconds: Int = 10
    /// Seconds a login may wait for one of the `maxConcurrentLogins` slots (a login storm:
    /// N logins at once wait about N / (logins per second) in the queue).
    public var maxLoginWaitSeconds: Int = 60
    /// Seconds a user has to answer a prompt of the login (a one-time code, a new password);
    /// then the challenge expires and the login starts again.
    public var challengeSeconds: Int = 120

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case pamService, adminGroup, maxConcurrentLogins, loginTimeoutSeconds, maxLoginWaitSeconds, challengeSeconds
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "authentication")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        for (key, keyPath) in [(CodingKeys.pamService, \Self.pamService), (.adminGroup, \Self.adminGroup)] {
            if let name = try container.decodeIfPresent(String.self, forKey: key) {
                guard DeskpoolConfiguration.isSafeName(name) else {
                    throw try container.superDecoder(forKey: key).invalid("authentication.\(key.stringValue) must be letters, digits, '.', '_' or '-' (at most 64)")
                }
                self[keyPath: keyPath] = name
            }
        }
        for (key, keyPath, range) in [(CodingKeys.maxConcurrentLogins, \Self.maxConcurrentLogins, 1...1024), (.loginTimeoutSeconds, \Self.loginTimeoutSeconds, 1...300),
                                      (.maxLoginWaitSeconds, \Self.maxLoginWaitSeconds, 1...600), (.challengeSeconds, \Self.challengeSeconds, 10...900)] {
            if let value = try container.decodeIfPresent(Int.self, forKey: key) {
                guard range.contains(value) else {
                    throw try container.superDecoder(forKey: key).invalid("authentication.\(key.stringValue) must be between \(range.lowerBound) and \(range.upperBound)")
                }
                self[keyPath: keyPath] = value
            }
        }
    }
}

/// How the broker keeps pools at their size.
public struct BrokerConfiguration: Sendable, Hashable, Decodable {
    /// This broker installation's name, written into every desktop's metadata. Recovery
    /// adopts and removes only domains of its own instance, so two installations (or a test
    /// rig) can share a host. Replicas of one installation share the name.
    public var instance: String = Self.defaultInstance
    public static let defaultInstance = "deskpool"
    /// Seconds between full reconcile passes (events trigger passes in between).
    public var sweepIntervalSeconds: Int = 10
    /// First wait after a pool's provisioning fails; doubles per failure in a row.
    public var backoffBaseSeconds: Int = 5
    /// Longest wait between provisioning attempts of a failing pool.
    public var backoffMaxSeconds: Int = 300
    /// Seconds a clone volume or domain must be seen unowned before it is removed.
    public var orphanGraceSeconds: Int = 300
    /// This replica's name among the brokers on one PostgreSQL store (default: the host
    /// name and process id). Shown as the owner of hosts, pools and rollouts.
    public var replica: String?
    /// Seconds a replica's lease lasts without renewal (renewed every third of it): how soon
    /// the work of a replica that died is taken over. Only with a PostgreSQL store.
    public var leaseSeconds: Int = 5
    /// Days the usage history keeps a session after it ended (`/api/v1/admin/usage`).
    public var usageRetentionDays: Int = 400

    public init() {}

    /// `replica`, or the host name and process id.
    public var replicaName: String {
        if let replica { return replica }
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "broker"
        return "\(host.prefix(40))-\(ProcessInfo.processInfo.processIdentifier)"
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case instance, sweepIntervalSeconds, backoffBaseSeconds, backoffMaxSeconds, orphanGraceSeconds, replica, leaseSeconds
        case usageRetentionDays
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "broker")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let instance = try c.decodeIfPresent(String.self, forKey: .instance) {
            guard DeskpoolConfiguration.isSafeName(instance) else {
                throw try c.superDecoder(forKey: .instance).invalid("broker.instance must be letters, digits, '.', '_' or '-' (at most 64)")
            }
            self.instance = instance
        }
        sweepIntervalSeconds = try c.decodeBounded(.sweepIntervalSeconds, 1...3600) ?? sweepIntervalSeconds
        backoffBaseSeconds = try c.decodeBounded(.backoffBaseSeconds, 1...3600) ?? backoffBaseSeconds
        backoffMaxSeconds = try c.decodeBounded(.backoffMaxSeconds, 1...86400) ?? backoffMaxSeconds
        orphanGraceSeconds = try c.decodeBounded(.orphanGraceSeconds, 0...86400) ?? orphanGraceSeconds
        if let replica = try c.decodeIfPresent(String.self, forKey: .replica) {
            guard DeskpoolConfiguration.isSafeName(replica) else {
                throw try c.superDecoder(forKey: .replica).invalid("broker.replica must be letters, digits, '.', '_' or '-' (at most 64)")
            }
            self.replica = replica
        }
        leaseSeconds = try c.decodeBounded(.leaseSeconds, 2...120) ?? leaseSeconds
        usageRetentionDays = try c.decodeBounded(.usageRetentionDays, 1...3650) ?? usageRetentionDays
    }
}
