import Foundation

/// One entry of `checks:`: an optional `name` (default: the rule's key) and exactly one rule:
///
/// ```yaml
/// - consolePassword: {maxValidity: 5m}
/// - tlsRequired: true
/// - forbiddenDevices: [usbredir, smartcard]
/// - templateVersion: {within: 0}
/// - guestAgent: true
/// - noUnexpectedDisks: true
/// - configuration: true
/// - name: sshd-off
///   guestCommand: {path: /bin/sh, args: [-c, "pidof sshd"], expectExit: 1, timeout: 30s}
/// - fileHash: {path: /etc/motd, sha256: 0123...}
/// ```
extension Check: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, consolePassword, tlsRequired, forbiddenDevices, templateVersion, guestAgent, noUnexpectedDisks
        case configuration, guestCommand, fileHash
    }

    enum ConsolePasswordKeys: String, CodingKey, CaseIterable { case maxValidity }
    enum TemplateVersionKeys: String, CodingKey, CaseIterable { case within }
    enum GuestCommandKeys: String, CodingKey, CaseIterable { case path, args, input, expectExit, expectOutput, timeout }
    enum FileHashKeys: String, CodingKey, CaseIterable { case path, sha256 }

    /// The devices and channels `forbiddenDevices` knows.
    public static let forbiddableDevices = ["usbredir", "smartcard", "audio", "clipboard"]
    /// The longest `expectOutput` pattern.
    public static let maxPatternLength = 1000

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "a check")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let ruleKeys = c.allKeys.filter { $0 != .name }
        guard ruleKeys.count == 1, let key = ruleKeys.first else {
            let rules = CodingKeys.allCases.dropFirst().map(\.stringValue).joined(separator: ", ")
            let given = ruleKeys.isEmpty ? "none" : ruleKeys.map(\.stringValue).joined(separator: ", ")
            throw decoder.invalid("a check has exactly one rule (one of \(rules)); this one has \(given)")
        }
        let name = try c.decodeIfPresent(String.self, forKey: .name) ?? key.stringValue
        guard DeskpoolConfiguration.isSafeName(name) else {
            throw try c.superDecoder(forKey: .name).invalid("check name '\(name)' must be letters, digits, '.', '_' or '-' (at most 64)")
        }
        self.init(name: name, rule: try Self.decodeRule(key, c))
    }

    private static func decodeRule(_ key: CodingKeys, _ c: KeyedDecodingContainer<CodingKeys>) throws -> Rule {
        let d = try c.superDecoder(forKey: key)
        switch key {
        case .tlsRequired: _ = try c.decodeTrue(key, key.stringValue); return .tlsRequired
        case .guestAgent: _ = try c.decodeTrue(key, key.stringValue); return .guestAgent
        case .noUnexpectedDisks: _ = try c.decodeTrue(key, key.stringValue); return .noUnexpectedDisks
        case .configuration: _ = try c.decodeTrue(key, key.stringValue); return .configuration
        case .consolePassword:
            try d.rejectUnknownKeys(ConsolePasswordKeys.self, in: "consolePassword")
            let r = try d.container(keyedBy: ConsolePasswordKeys.self)
            guard let seconds = try r.decodeDuration(.maxValidity, "consolePassword.maxValidity", 1...86_400) else {
                throw d.invalid("consolePassword.maxValidity is required (such as 5m)")
            }
            return .consolePassword(maxValiditySeconds: seconds)
        case .forbiddenDevices:
            let devices = try c.decode([String].self, forKey: key)
            let allowed = forbiddableDevices.joined(separator: ", ")
            try d.require(!devices.isEmpty, "forbiddenDevices must name at least one of \(allowed)")
            if let bad = devices.first(where: { !forbiddableDevices.contains($0) }) {
                throw d.invalid("forbiddenDevices: '\(bad)' is not one of \(allowed)")
            }
            return .forbiddenDevices(devices)
        case .templateVersion:
            try d.rejectUnknownKeys(TemplateVersionKeys.self, in: "templateVersion")
            let r = try d.container(keyedBy: TemplateVersionKeys.self)
            return .templateVersion(within: try r.decodeBounded(.within, 0...1000) ?? 0)
        case .guestCommand:
            return try decodeGuestCommand(d)
        case .fileHash:
            try d.rejectUnknownKeys(FileHashKeys.self, in: "fileHash")
            let r = try d.container(keyedBy: FileHashKeys.self)
            let path = try r.decode(String.self, forKey: .path)
            try r.superDecoder(forKey: .path).require(path.hasPrefix("/") && !path.contains("\0") && path.utf8.count <= 4096,
                                                      "fileHash.path must be an absolute path, not '\(path)'")
            let hash = try r.decode(String.self, forKey: .sha256).lowercased()
            try r.superDecoder(forKey: .sha256).require(hash.utf8.count == 64 && hash.allSatisfy { $0.isASCII && $0.isHexDigit },
                                                        "fileHash.sha256 must be 64 hexadecimal digits")
            return .fileHash(path: path, sha256: hash)
        case .name:
            preconditionFailure("name is not a rule")
        }
    }

    private static func decodeGuestCommand(_ d: any Decoder) throws -> Rule {
        try d.rejectUnknownKeys(GuestCommandKeys.self, in: "guestCommand")
        let command = try GuestCommandSpec.fields(of: d)
        let r = try d.container(keyedBy: GuestCommandKeys.self)
        let exitCode = try r.decodeBounded(.expectExit, 0...255) ?? 0
        let pattern = try r.decodeIfPresent(String.self, forKey: .expectOutput)
        if let pattern {
            let p = try r.superDecoder(forKey: .expectOutput)
            try p.require(pattern.count <= maxPatternLength, "guestCommand.expectOutput must be at most \(maxPatternLength) characters")
            do {
                _ = try NSRegularExpression(pattern: pattern)
            } catch {
                throw p.invalid("guestCommand.expectOutput is not a valid regular expression: '\(pattern)'")
            }
        }
        let timeout = try r.decodeDuration(.timeout, "guestCommand.timeout", 1...GuestCommandPolicySpec.maxTimeoutSeconds) ?? 30
        return .guestCommand(command, exitCode: exitCode, outputPattern: pattern, timeoutSeconds: timeout)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        switch rule {
        case .tlsRequired: try c.encode(true, forKey: .tlsRequired)
        case .guestAgent: try c.encode(true, forKey: .guestAgent)
        case .noUnexpectedDisks: try c.encode(true, forKey: .noUnexpectedDisks)
        case .configuration: try c.encode(true, forKey: .configuration)
        case .consolePassword(let seconds):
            var r = c.nestedContainer(keyedBy: ConsolePasswordKeys.self, forKey: .consolePassword)
            try r.encode(seconds, forKey: .maxValidity)
        case .forbiddenDevices(let devices):
            try c.encode(devices, forKey: .forbiddenDevices)
        case .templateVersion(let within):
            var r = c.nestedContainer(keyedBy: TemplateVersionKeys.self, forKey: .templateVersion)
            try r.encode(within, forKey: .within)
        case .guestCommand(let command, let exitCode, let pattern, let timeout):
            var r = c.nestedContainer(keyedBy: GuestCommandKeys.self, forKey: .guestCommand)
            try r.encode(command.path, forKey: .path)
            try r.encode(command.arguments, forKey: .args)
            try r.encodeIfPresent(command.input, forKey: .input)
            try r.encode(exitCode, forKey: .expectExit)
            try r.encodeIfPresent(pattern, forKey: .expectOutput)
            try r.encode(timeout, forKey: .timeout)
        case .fileHash(let path, let sha256):
            var r = c.nestedContainer(keyedBy: FileHashKeys.self, forKey: .fileHash)
            try r.encode(path, forKey: .path)
            try r.encode(sha256, forKey: .sha256)
        }
    }
}
