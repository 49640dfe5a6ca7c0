/// `identity:` of a pool: what makes each of its desktops its own machine inside, given to the
/// guest in a cloud-init NoCloud seed (`IdentitySeed`) when its template has `identity.seed:
/// nocloud`. Every value is checked here, at the edge; the seed is rendered with a YAML
/// library, so no value can add a key.
public struct IdentitySettings: Sendable, Hashable, Codable {
    /// The guest's host name: a pattern of `{name}` (the desktop's name) and `{pool}`, made a
    /// valid host name (lower case; `_` and `.` become `-`; at most 63 characters).
    public var hostname = "{name}"
    /// The DNS domain, for the fully qualified name (`eng-001.example.org`); none by default.
    public var domain: String?
    /// Accounts cloud-init creates (with SSH keys; passwords are locked).
    public var users: [User] = []
    /// A shell script run once per desktop incarnation, as root, at the end of the first boot.
    public var firstBoot: String?
    /// The command that joins the desktop to a directory (run once per incarnation, after
    /// `firstBoot`), with the join password from a broker-side secret in
    /// `DESKPOOL_JOIN_PASSWORD`.
    public var domainJoin: DomainJoin?

    public struct User: Sendable, Hashable, Codable {
        public var name: String
        public var groups: [String] = []
        /// Passwordless sudo.
        public var sudo = false
        public var sshAuthorizedKeys: [String] = []

        public init(name: String, groups: [String] = [], sudo: Bool = false, sshAuthorizedKeys: [String] = []) {
            self.name = name
            self.groups = groups
            self.sudo = sudo
            self.sshAuthorizedKeys = sshAuthorizedKeys
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case name, groups, sudo, sshAuthorizedKeys }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "identity.users")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            groups = try c.decodeIfPresent([String].self, forKey: .groups) ?? []
            sudo = try c.decodeIfPresent(Bool.self, forKey: .sudo) ?? false
            sshAuthorizedKeys = try c.decodeIfPresent([String].self, forKey: .sshAuthorizedKeys) ?? []
        }
    }

    public struct DomainJoin: Sendable, Hashable, Codable {
        /// One line of shell, e.g. `realm join --one-time-password="$DESKPOOL_JOIN_PASSWORD" example.org`.
        public var command: String
        /// The name of a secret in deskpool.yaml's `secrets:` (a file on the broker's host):
        /// the password never goes through the API.
        public var passwordSecret: String?

        public init(command: String, passwordSecret: String? = nil) {
            self.command = command
            self.passwordSecret = passwordSecret
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case command, passwordSecret }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "identity.domainJoin")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            command = try c.decode(String.self, forKey: .command)
            passwordSecret = try c.decodeIfPresent(String.self, forKey: .passwordSecret)
        }
    }

    public init(hostname: String = "{name}", domain: String? = nil, users: [User] = [], firstBoot: String? = nil, domainJoin: DomainJoin? = nil) {
        self.hostname = hostname
        self.domain = domain
        self.users = users
        self.firstBoot = firstBoot
        self.domainJoin = domainJoin
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case hostname, domain, users, firstBoot, domainJoin }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "identity")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hostname = try c.decodeIfPresent(String.self, forKey: .hostname) ?? hostname
        domain = try c.decodeIfPresent(String.self, forKey: .domain)
        users = try c.decodeIfPresent([User].self, forKey: .users) ?? []
        firstBoot = try c.decodeIfPresent(String.self, forKey: .firstBoot)
        domainJoin = try c.decodeIfPresent(DomainJoin.self, forKey: .domainJoin)
    }

    // MARK: - Checks

    static let maxScriptBytes = 64 * 1024
    static let maxUsers = 32
    static let maxKeysPerUser = 16

    /// Everything a pool file or the API may hold here; throws `.invalidInput` naming the field.
    /// `secrets`: the names deskpool.yaml's `secrets:` defines (nil: not checked here).
    public func validate(secrets: Set<String>? = nil) throws(DeskpoolError) {
        guard hostname.count <= 128, Self.hostName(pattern: hostname, desktop: "a", pool: "b") != nil,
              hostname.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.{}".contains($0)) }) else {
            throw DeskpoolError(.invalidInput, "must be a host name pattern of letters, digits, '-' and {name} or {pool}", field: "identity.hostname")
        }
        if let domain, !Self.isDomainName(domain) {
            throw DeskpoolError(.invalidInput, "must be a DNS domain such as example.org", field: "identity.domain")
        }
        guard users.count <= Self.maxUsers else { throw DeskpoolError(.invalidInput, "at most \(Self.maxUsers) users", field: "identity.users") }
        for user in users {
            guard Self.isAccountName(user.name) else {
                throw DeskpoolError(.invalidInput, "'\(user.name.prefix(40))' is not an account name (lower-case letters, digits, '_', '-', at most 32)",
                                    field: "identity.users")
            }
            if let bad = user.groups.first(where: { !Self.isAccountName($0) }) {
                throw DeskpoolError(.invalidInput, "'\(bad.prefix(40))' is not a group name", field: "identity.users.groups")
            }
            guard user.sshAuthorizedKeys.count <= Self.maxKeysPerUser, user.sshAuthorizedKeys.allSatisfy(Self.isSSHPublicKey) else {
                throw DeskpoolError(.invalidInput, "must be at most \(Self.maxKeysPerUser) SSH public keys of one line each (ssh-ed25519, ssh-rsa, ecdsa-..., sk-...)",
                                    field: "identity.users.sshAuthorizedKeys")
            }
        }
        if let firstBoot {
            guard firstBoot.utf8.count <= Self.maxScriptBytes, !firstBoot.contains("\0") else {
                throw DeskpoolError(.invalidInput, "must be a script of at most 64 KiB", field: "identity.firstBoot")
            }
        }
        if let join = domainJoin {
            guard !join.command.isEmpty, join.command.utf8.count <= 4096, !join.command.contains(where: { $0.isNewline || $0 == "\0" }) else {
                throw DeskpoolError(.invalidInput, "must be one line of at most 4 KiB", field: "identity.domainJoin.command")
            }
            if let name = join.passwordSecret {
                guard DeskpoolConfiguration.isSafeName(name) else {
                    throw DeskpoolError(.invalidInput, "must be the name of a secret in deskpool.yaml", field: "identity.domainJoin.passwordSecret")
                }
                if let secrets, !secrets.contains(name) {
                    throw DeskpoolError(.invalidInput, "no secret '\(name)' is configured (deskpool.yaml secrets:)", field: "identity.domainJoin.passwordSecret")
                }
            }
        }
    }

    /// The host name for a desktop: the pattern filled, lower case, `_` and `.` as `-`, at
    /// most 63 characters, no `-` at either end; nil when nothing of a host name is left.
    public static func hostName(pattern: String, desktop: String, pool: String) -> String? {
        let filled = pattern.replacingOccurrences(of: "{name}", with: desktop).replacingOccurrences(of: "{pool}", with: pool)
        guard !filled.contains("{"), !filled.contains("}") else { return nil }
        var label = String(filled.lowercased().map { $0 == "_" || $0 == "." ? "-" : $0 }
            .filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }.prefix(63))
        while label.hasPrefix("-") { label.removeFirst() }
        while label.hasSuffix("-") { label.removeLast() }
        return label.isEmpty ? nil : label
    }

    static func isDomainName(_ text: String) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return text.count <= 200 && labels.count >= 1 && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    static func isAccountName(_ text: String) -> Bool {
        guard let first = text.first, text.count <= 32, first.isASCII, first.isLowercase || first == "_" else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    static func isSSHPublicKey(_ text: String) -> Bool {
        let types = ["ssh-ed25519 ", "ssh-rsa ", "ecdsa-sha2-nistp256 ", "ecdsa-sha2-nistp384 ", "ecdsa-sha2-nistp521 ",
                     "sk-ssh-ed25519@openssh.com ", "sk-ecdsa-sha2-nistp256@openssh.com "]
        return text.utf8.count <= 8192 && types.contains { text.hasPrefix($0) }
            && text.allSatisfy { $0.isASCII && !$0.isNewline && ($0 == " " || !$0.isWhitespace) && $0 != "\0" }
    }
}

/// `identity:` of a template: how its image takes an identity.
public struct TemplateIdentity: Sendable, Hashable, Codable {
    public enum Seed: String, Sendable, Hashable, Codable, CaseIterable {
        /// Nothing beyond the SMBIOS product name (images that read their name themselves).
        case none
        /// A cloud-init NoCloud seed (`cidata` volume): cloud-init, or cloudbase-init on Windows.
        case nocloud
    }

    public var seed = Seed.none
    /// A desktop counts as ready only when the guest reports (through its agent) the host name
    /// its seed gave it: the identity was applied.
    public var requireApplied = false

    public init(seed: Seed = .none, requireApplied: Bool = false) {
        self.seed = seed
        self.requireApplied = requireApplied
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case seed, requireApplied }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "identity")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try c.decodeIfPresent(String.self, forKey: .seed) {
            guard let value = Seed(rawValue: text) else {
                throw try c.superDecoder(forKey: .seed).invalid("identity.seed must be none or nocloud, not '\(text.prefix(40))'")
            }
            seed = value
        }
        requireApplied = try c.decodeIfPresent(Bool.self, forKey: .requireApplied) ?? false
    }
}
