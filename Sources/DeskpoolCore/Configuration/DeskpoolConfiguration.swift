/// Everything in `etc/deskpool.yaml`. Every key is optional; a missing key takes the default
/// documented next to it. Unknown keys are errors.
public struct DeskpoolConfiguration: Sendable, Hashable, Decodable {
    /// Where the broker keeps its state (the SQLite store, the secret).
    public var stateDirectory: String = "/var/lib/deskpool"
    public var hypervisor = HypervisorConfiguration()
    public var authentication = AuthenticationConfiguration()

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case stateDirectory, hypervisor, authentication
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
        hypervisor = try container.decodeIfPresent(HypervisorConfiguration.self, forKey: .hypervisor) ?? hypervisor
        authentication = try container.decodeIfPresent(AuthenticationConfiguration.self, forKey: .authentication) ?? authentication
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

/// How the broker reaches its hypervisor host.
public struct HypervisorConfiguration: Sendable, Hashable, Decodable {
    /// libvirt URI of the host.
    public var uri: String = "qemu:///system"
    /// `auto` (KVM where it can run real guests, else TCG), `kvm` or `tcg`.
    public var acceleration: AccelerationSetting = .auto
    /// The libvirt storage pool (a dir pool) for base images and desktop disks.
    public var storagePool: String = "deskpool"
    /// The pool's directory, used when `deskpool doctor --fix` creates the pool.
    public var storagePath: String = "/var/lib/deskpool/images"

    public init() {}

    public enum AccelerationSetting: String, Sendable, Hashable, Decodable, CaseIterable {
        case auto, kvm, tcg
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case uri, acceleration, storagePool, storagePath
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "hypervisor")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let uri = try container.decodeIfPresent(String.self, forKey: .uri) {
            guard uri.contains(":///") || uri.contains("://") else {
                throw try container.superDecoder(forKey: .uri).invalid("hypervisor.uri must be a libvirt URI such as qemu:///system")
            }
            self.uri = uri
        }
        if let text = try container.decodeIfPresent(String.self, forKey: .acceleration) {
            guard let setting = AccelerationSetting(rawValue: text) else {
                throw try container.superDecoder(forKey: .acceleration).invalid("hypervisor.acceleration must be auto, kvm or tcg, not '\(text)'")
            }
            acceleration = setting
        }
        if let pool = try container.decodeIfPresent(String.self, forKey: .storagePool) {
            guard DeskpoolConfiguration.isSafeName(pool) else {
                throw try container.superDecoder(forKey: .storagePool).invalid("hypervisor.storagePool must be letters, digits, '.', '_' or '-' (at most 64)")
            }
            storagePool = pool
        }
        if let path = try container.decodeIfPresent(String.self, forKey: .storagePath) {
            guard path.hasPrefix("/") else {
                throw try container.superDecoder(forKey: .storagePath).invalid("hypervisor.storagePath must be an absolute path")
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
    /// PAM logins that may run at once; more wait.
    public var maxConcurrentLogins: Int = 8
    /// Seconds a PAM login may take, waiting included.
    public var loginTimeoutSeconds: Int = 10

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case pamService, adminGroup, maxConcurrentLogins, loginTimeoutSeconds
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
        for (key, keyPath, range) in [(CodingKeys.maxConcurrentLogins, \Self.maxConcurrentLogins, 1...256), (.loginTimeoutSeconds, \Self.loginTimeoutSeconds, 1...300)] {
            if let value = try container.decodeIfPresent(Int.self, forKey: key) {
                guard range.contains(value) else {
                    throw try container.superDecoder(forKey: key).invalid("authentication.\(key.stringValue) must be between \(range.lowerBound) and \(range.upperBound)")
                }
                self[keyPath: keyPath] = value
            }
        }
    }
}
