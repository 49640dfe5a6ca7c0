import DeskpoolCore
import Foundation
import Testing

/// Policy files: every kind decodes; a file with any error is refused whole with the line,
/// column and reason; YAML abuse (aliases, nesting, size, several documents) is refused before
/// composing; a policy survives JSON and back.
@Suite("Policy files")
struct PolicyFileTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Lines 1-6 of a policy of `kind` selecting the pool `demo`; spec keys follow at line 7.
    static func head(_ kind: String) -> String {
        "apiVersion: deskpool/v1\nkind: \(kind)\nmetadata:\n  name: p\nspec:\n  selector: {pools: [demo]}\n"
    }

    static let update = head("UpdatePolicy")
    static let check = head("CheckPolicy")
    static let command = head("GuestCommandPolicy")
    static let config = head("ConfigPolicy")

    // MARK: - Every kind

    @Test("every file in policies/ loads, and their names are unique")
    func shippedExamples() throws {
        let policies = try PolicyFile.loadDirectory(Self.repository.appendingPathComponent("policies").path)
        #expect(Set(policies.map(\.kind)) == Set(Policy.Kind.allCases))
        for policy in policies {
            #expect(policy.selector.pools == ["demo"])
        }
    }

    @Test("a ConfigPolicy with every section")
    func configPolicy() throws {
        let yaml = Self.config + """
              set:
                desktop: {memoryMiB: 1024, vcpus: 2, compression: off}
                console: {ticketSeconds: 20, takeover: refuse}
                session: {disconnectTimeoutSeconds: 60}
                sizes: {min: 1, max: 8}
              logoff: {mode: forceAfter, after: 10m, message: "Bye"}
              strategy:
                canary: 0
                waveSize: 3
                maxUnavailable: 25%
                failureThreshold: 10%
                autoRollback: false
                window: {days: [sat, sun], start: "01:00", end: "05:30", utcOffset: "-05:00"}
                healthGate: {timeout: 90, agent: false}
            """
        let policy = try PolicyFile.decode(yaml: yaml, file: "c.yaml")
        guard case .config(let spec) = policy.spec else { Issue.record("not a ConfigPolicy"); return }
        #expect(spec.desktop == DesktopSettings(vcpus: 2, memoryMiB: 1024, compression: .off))
        #expect(spec.console?.keys == ["ticketSeconds", "takeover"])
        #expect(spec.console?.value.ticketSeconds == 20)
        #expect(spec.console?.value.takeover == .refuse)
        #expect(spec.session?.keys == ["disconnectTimeoutSeconds"])
        #expect(spec.sizes == PoolSizes(min: 1, max: 8))
        #expect(spec.logoff == .forceAfter(seconds: 600, message: "Bye"))
        let window = MaintenanceWindow(days: [.sat, .sun], startMinute: 60, endMinute: 330, utcOffsetMinutes: -300)
        #expect(spec.strategy == RolloutStrategy(canary: .count(0), waveSize: .count(3), maxUnavailable: .percent(25), window: window,
                                                 healthGate: HealthGate(timeoutSeconds: 90, agent: false, display: true),
                                                 failureThreshold: .percent(10), autoRollback: false))
    }

    @Test("an UpdatePolicy: version latest, a number, or the string latest", arguments: [
        ("  version: latest\n", PoolSpec.VersionChoice.latest),
        ("  version: \"latest\"\n", .latest),
        ("  version: 7\n", .pinned(7)),
        ("", .latest),
    ])
    func updatePolicy(line: String, version: PoolSpec.VersionChoice) throws {
        let policy = try PolicyFile.decode(yaml: Self.update + line)
        #expect(policy.spec == .update(UpdatePolicySpec(selector: PoolSelector(pools: ["demo"]), version: version)))
    }

    @Test("a GuestCommandPolicy: a command, or a script run by /bin/sh -s")
    func guestCommandPolicy() throws {
        let command = try PolicyFile.decode(yaml: Self.command + "  command: {path: /usr/bin/env, args: [FOO=1, id]}\n  concurrency: 8\n  timeout: 2m\n")
        #expect(command.spec == .guestCommand(GuestCommandPolicySpec(
            selector: PoolSelector(pools: ["demo"]), command: GuestCommand(path: "/usr/bin/env", arguments: ["FOO=1", "id"]),
            concurrency: 8, timeoutSeconds: 120)))
        let script = try PolicyFile.decode(yaml: Self.command + "  script: |\n    echo a\n    echo b\n  includeInUse: false\n")
        #expect(script.spec == .guestCommand(GuestCommandPolicySpec(
            selector: PoolSelector(pools: ["demo"]), command: GuestCommand(path: "/bin/sh", arguments: ["-s"], input: "echo a\necho b\n"),
            includeInUse: false)))
    }

    @Test("a CheckPolicy with every rule")
    func checkPolicy() throws {
        let hash = String(repeating: "Ab", count: 32)
        let yaml = Self.check + """
              checks:
                - consolePassword: {maxValidity: 5m}
                - tlsRequired: true
                - forbiddenDevices: [usbredir, audio]
                - templateVersion: {within: 1}
                - guestAgent: true
                - noUnexpectedDisks: true
                - {name: no-drift, configuration: true}
                - guestCommand: {path: /bin/cat, args: [/etc/os-release], expectExit: 0, expectOutput: "^ID=", timeout: 10s}
                - fileHash: {path: /etc/motd, sha256: \(hash)}
              remediation: {configPolicy: baseline-fix}
            """
        let policy = try PolicyFile.decode(yaml: yaml)
        guard case .check(let spec) = policy.spec else { Issue.record("not a CheckPolicy"); return }
        #expect(spec.checks.map(\.name) == ["consolePassword", "tlsRequired", "forbiddenDevices", "templateVersion", "guestAgent",
                                            "noUnexpectedDisks", "no-drift", "guestCommand", "fileHash"])
        #expect(spec.checks.map(\.rule) == [
            .consolePassword(maxValiditySeconds: 300), .tlsRequired, .forbiddenDevices(["usbredir", "audio"]), .templateVersion(within: 1),
            .guestAgent, .noUnexpectedDisks, .configuration,
            .guestCommand(GuestCommand(path: "/bin/cat", arguments: ["/etc/os-release"]), exitCode: 0, outputPattern: "^ID=", timeoutSeconds: 10),
            .fileHash(path: "/etc/motd", sha256: hash.lowercased()),
        ])
        #expect(spec.remediation == .configPolicy("baseline-fix"))
        #expect(try PolicyFile.decode(yaml: Self.check + "  checks: [{guestAgent: true}]\n  remediation: refresh\n").spec
                == .check(CheckPolicySpec(selector: PoolSelector(pools: ["demo"]), checks: [Check(name: "guestAgent", rule: .guestAgent)],
                                          remediation: .refresh)))
    }

    @Test("a selector by labels; metadata.description")
    func labelsAndDescription() throws {
        let yaml = "apiVersion: deskpool/v1\nkind: UpdatePolicy\nmetadata: {name: by-label, description: \"Eng & QA\"}\nspec:\n  selector: {labels: {team: eng}}\n"
        let policy = try PolicyFile.decode(yaml: yaml)
        #expect(policy.name == "by-label")
        #expect(policy.description == "Eng & QA")
        #expect(policy.selector == PoolSelector(labels: ["team": "eng"]))
    }

    // MARK: - Refused files

    static let hugeItems = Array(repeating: "1", count: PolicyFile.maxNodes).joined(separator: ",")

    @Test("bad policy files are refused with the code, line, column and reason", arguments: [
        // Header
        ("apiVersion: deskpool/v2\nkind: UpdatePolicy\n", ConfigurationError.Code.invalidValue, 1, 13, "use deskpool/v1"),
        ("apiVersion: deskpool/v1\nkind: FooPolicy\n", .invalidValue, 2, 7, "ConfigPolicy, UpdatePolicy, GuestCommandPolicy, CheckPolicy"),
        (update + "extra: 1\n", .unknownKey, 7, 8, "unknown key 'extra' in the policy (known keys: apiVersion, kind, metadata, spec)"),
        ("apiVersion: deskpool/v1\nkind: UpdatePolicy\nmetadata:\n  name: \"a b\"\n", .invalidValue, 4, 9, "metadata.name 'a b'"),
        ("apiVersion: deskpool/v1\nkind: UpdatePolicy\nmetadata:\n  name: p\n  owner: me\n", .unknownKey, 5, 10, "'owner' in metadata"),
        ("apiVersion: deskpool/v1\nkind: UpdatePolicy\nmetadata:\n  name: p\n", .invalidValue, 1, 1, "spec is required"),
        // Unknown keys in the spec and deeper
        (update + "  versoin: 3\n", .unknownKey, 7, 12, "unknown key 'versoin' in spec of an UpdatePolicy (known keys: selector, version, logoff, strategy, dedicated)"),
        (update + "  strategy:\n    canary: 1\n    wavesize: 2\n", .unknownKey, 9, 15, "'wavesize' in strategy"),
        (config + "  set:\n    desktop: {memory: 512}\n", .unknownKey, 8, 23, "'memory' in desktop"),
        (check + "  checks:\n    - guestAgent: true\n      severity: high\n", .unknownKey, 9, 17, "'severity' in a check"),
        // Wrong types
        (update + "  version: [1]\n", .invalidValue, 7, 12, "version must be latest or a version number from 1"),
        (update + "  strategy:\n    autoRollback: maybe\n", .invalidValue, 8, 19, "spec.strategy.autoRollback"),
        (update + "  version: 0\n", .invalidValue, 7, 12, "not '0'"),
        // Impossible strategies
        (update + "  strategy:\n    waveSize: 0\n", .invalidValue, 8, 15, "strategy.waveSize must be at least 1"),
        (update + "  strategy:\n    waveSize: \"0%\"\n", .invalidValue, 8, 15, "from 1% to 100%"),
        (update + "  strategy:\n    maxUnavailable: 0\n", .invalidValue, 8, 21, "strategy.maxUnavailable must be at least 1"),
        (update + "  strategy:\n    canary: 150%\n", .invalidValue, 8, 13, "from 1% to 100%, not 150%"),
        (update + "  strategy:\n    canary: lots\n", .invalidValue, 8, 13, "a number of desktops or a percentage"),
        (update + "  strategy:\n    healthGate: {timeout: 0}\n", .invalidValue, 8, 27, "healthGate.timeout must be between 1s and 24h"),
        // Windows
        (update + "  strategy:\n    window: {start: \"22:00\", end: \"22:00\"}\n", .invalidValue, 8, 35, "the same time"),
        (update + "  strategy:\n    window: {start: \"25:00\", end: \"06:00\"}\n", .invalidValue, 8, 21, "from 00:00 to 23:59, not '25:00'"),
        (update + "  strategy:\n    window: {days: [mon, funday], start: \"22:00\", end: \"06:00\"}\n", .invalidValue, 8, 20, "'funday' is not a day"),
        (update + "  strategy:\n    window: {start: \"22:00\"}\n", .invalidValue, 8, 13, "window.end is required"),
        // Logoff and durations
        (update + "  logoff: {mode: forceAfter, after: 15 minutes}\n", .invalidValue, 7, 37, "must be a duration such as 30s"),
        (update + "  logoff: {mode: forceAfter, after: 25h}\n", .invalidValue, 7, 37, "between 0s and 24h"),
        (update + "  logoff: {mode: forceAfter}\n", .invalidValue, 7, 11, "logoff.after is required"),
        (update + "  logoff: {mode: kick}\n", .invalidValue, 7, 18, "waitForLogoff or forceAfter"),
        (update + "  logoff: {mode: forceAfter, after: 5m, message: \"a\\nb\"}\n", .invalidValue, 7, 50, "one line"),
        (update + "  logoff: {after: 5m}\n", .invalidValue, 7, 19, "only for mode forceAfter"),
        (update + "  logoff: {mode: forceAfter, after: 5m, message: \"\"}\n", .invalidValue, 7, 50, "must not be empty"),
        // Selectors
        ("apiVersion: deskpool/v1\nkind: UpdatePolicy\nmetadata:\n  name: p\nspec:\n  selector: {}\n", .invalidValue, 6, 13, "must name pools or labels"),
        ("apiVersion: deskpool/v1\nkind: UpdatePolicy\nmetadata:\n  name: p\nspec:\n  version: 2\n", .invalidValue, 6, 3, "spec.selector is required"),
        ("apiVersion: deskpool/v1\nkind: UpdatePolicy\nmetadata:\n  name: p\nspec:\n  selector: {pools: [\"../x\"]}\n", .invalidValue, 6, 21, "'../x' is not a name"),
        // ConfigPolicy
        (config + "  set: {}\n", .invalidValue, 7, 8, "set changes nothing"),
        (config + "  set:\n    console: {}\n", .invalidValue, 8, 14, "set.console names no setting"),
        (config + "  set:\n    console: {ticketSeconds: 301}\n", .invalidValue, 8, 30, "ticketSeconds must be between 1 and 300"),
        (config + "  set:\n    sizes: {min: 5, max: 2}\n", .invalidValue, 8, 18, "sizes.min (5) must not exceed sizes.max (2)"),
        (config + "  set:\n    sizes: {max: 10001}\n", .invalidValue, 8, 18, "max must be between 1 and 10000"),
        // GuestCommandPolicy
        (command + "  command: {path: /bin/true}\n  script: echo hi\n", .invalidValue, 8, 11, "not both"),
        (command + "  concurrency: 4\n", .invalidValue, 6, 3, "a command (path and args) or a script"),
        (command + "  command: {path: bin/true}\n", .invalidValue, 7, 19, "absolute path"),
        (command + "  command: {path: /bin/true}\n  concurrency: 65\n", .invalidValue, 8, 16, "concurrency must be between 1 and 64"),
        (command + "  command: {path: /bin/true}\n  timeout: 2h\n", .invalidValue, 8, 12, "timeout must be between 1s and 1h"),
        (command + "  command: {path: /bin/true, args: [" + Array(repeating: "a", count: 65).joined(separator: ",") + "]}\n",
         .invalidValue, 7, 36, "at most 64 arguments"),
        (command + "  script: \"" + String(repeating: "a", count: 64 * 1024 + 1) + "\"\n", .invalidValue, 7, 11, "script must be at most 65536 bytes"),
        // CheckPolicy
        (check + "  checks:\n    - guestCommand: {path: /bin/true, expectOutput: \"([a-z\"}\n", .invalidValue, 8, 53, "not a valid regular expression"),
        (check + "  checks:\n    - fileHash: {path: /etc/motd, sha256: abc}\n", .invalidValue, 8, 43, "64 hexadecimal digits"),
        (check + "  checks:\n    - forbiddenDevices: [usbredir, webcam]\n", .invalidValue, 8, 25, "'webcam' is not one of usbredir, smartcard, audio, clipboard"),
        (check + "  checks:\n    - {guestAgent: true, tlsRequired: true}\n", .invalidValue, 8, 7, "exactly one rule"),
        (check + "  checks:\n    - tlsRequired: false\n", .invalidValue, 8, 20, "must be true"),
        (check + "  checks:\n    - guestAgent: true\n    - guestAgent: true\n", .invalidValue, 9, 7, "'guestAgent' is used twice"),
        (check + "  checks: []\n", .invalidValue, 7, 11, "at least one check"),
        (check + "  checks: [{guestAgent: true}]\n  remediation: reboot\n", .invalidValue, 8, 16, "none, refresh or {configPolicy: NAME}"),
        // YAML abuse
        (update + "  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
         .unsupported, 7, 6, "anchors and aliases are not allowed in policy files"),
        (update + "  version: *v\n", .unsupported, 7, 12, "anchors and aliases are not allowed"),
        ("apiVersion: deskpool/v1\nkind: UpdatePolicy\nmetadata:\n  name: \"a & b *c\"\n", .invalidValue, 4, 9, "metadata.name 'a & b *c'"),
        (update + "  x: " + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "\n", .tooLarge, 7, 36, "deeper than 32"),
        (update + "  x: [" + hugeItems + "]\n", .tooLarge, 7, 199_971, "more than 100000 values"),
        (update + "---\n" + update, .unsupported, 7, 1, "one YAML document"),
        (update + String(repeating: "# padding padding padding padding padding padding padding padding\n", count: 17_000),
         .tooLarge, 1, 1, "policy files may be at most 1048576 bytes"),
        ("apiVersion: deskpool/v1\nkind: [UpdatePolicy\n", .malformed, 3, 1, "not valid YAML"),
        ("", .malformed, 1, 1, "the file is empty"),
        (update + "  version: 2\n  version: 3\n", .malformed, 7, 3, "a key is given twice in one mapping: 'version'"),
    ] as [(String, ConfigurationError.Code, Int, Int, String)])
    func refused(yaml: String, code: ConfigurationError.Code, line: Int, column: Int, mention: String) {
        let error = #expect(throws: ConfigurationError.self) { _ = try PolicyFile.decode(yaml: yaml, file: "bad.yaml") }
        #expect(error?.code == code, "\(error?.description ?? "")")
        #expect(error?.line == line, "\(error?.description ?? "")")
        #expect(error?.column == column, "\(error?.description ?? "")")
        #expect(error?.message.contains(mention) == true, "\(error?.description ?? "")")
        #expect(error?.description.hasPrefix("bad.yaml:\(line):\(column): ") == true, "\(error?.description ?? "")")
    }

    // MARK: - Files and directories

    @Test("a directory: *.yaml and *.yml in name order; a name used twice names both files")
    func directory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dp-policies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func write(_ name: String, _ text: String) throws {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try write("b.yml", Self.update.replacingOccurrences(of: "name: p", with: "name: second"))
        try write("a.yaml", Self.update.replacingOccurrences(of: "name: p", with: "name: first"))
        try write("notes.txt", "not a policy")
        #expect(try PolicyFile.loadDirectory(directory.path).map(\.name) == ["first", "second"])

        try write("c.yaml", Self.update.replacingOccurrences(of: "name: p", with: "name: first"))
        let error = #expect(throws: ConfigurationError.self) { _ = try PolicyFile.loadDirectory(directory.path) }
        #expect(error?.code == .duplicateName)
        #expect(error?.file?.hasSuffix("c.yaml") == true)
        #expect(error?.line == 4)
        #expect(error?.column == 9)
        #expect(error?.message.contains("a.yaml") == true, "\(error?.description ?? "")")

        try write("c.yaml", Self.update + "  bogus: 1\n")
        let bad = #expect(throws: ConfigurationError.self) { _ = try PolicyFile.loadDirectory(directory.path) }
        #expect(bad?.file?.hasSuffix("c.yaml") == true)
        #expect(bad?.description.contains("c.yaml:7:10: unknown key 'bogus'") == true, "\(bad?.description ?? "")")
    }

    @Test("an oversized file is refused before it is read whole")
    func oversizedFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dp-big-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(repeating: UInt8(ascii: "#"), count: PolicyFile.maxBytes + 10).write(to: file)
        let error = #expect(throws: ConfigurationError.self) { _ = try PolicyFile.load(file: file.path) }
        #expect(error?.code == .tooLarge)
        #expect(error?.line == 1 && error?.column == 1)
    }

    // MARK: - JSON

    @Test("every example policy survives JSON and back through the same strict decoder")
    func jsonRoundTrip() throws {
        for policy in try PolicyFile.loadDirectory(Self.repository.appendingPathComponent("policies").path) {
            let data = try JSONEncoder().encode(policy)
            #expect(try JSONDecoder().decode(Policy.self, from: data) == policy, "\(String(decoding: data, as: UTF8.self))")
        }
    }

    @Test("the JSON shape mirrors the file")
    func jsonShape() throws {
        let policy = try PolicyFile.decode(yaml: Self.update + "  version: 3\n  logoff: {mode: forceAfter, after: 15m}\n")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(policy), as: UTF8.self)
        #expect(json == #"{"apiVersion":"deskpool\/v1","kind":"UpdatePolicy","metadata":{"name":"p"},"spec":{"logoff":{"after":900,"message":"This desktop will be updated: you will be logged off in {minutes} minute(s). Save your work.","mode":"forceAfter"},"selector":{"pools":["demo"]},"strategy":{"autoRollback":true,"canary":1,"failureThreshold":1,"healthGate":{"agent":true,"display":true,"timeout":600},"maxUnavailable":1,"waveSize":"25%"},"version":3}}"#.replacingOccurrences(of: "\\/", with: "/"))
        let tampered = Data(json.replacingOccurrences(of: "\"version\":3", with: "\"version\":3,\"extra\":1").utf8)
        let error = #expect(throws: ConfigurationError.self) { _ = try JSONDecoder().decode(Policy.self, from: tampered) }
        #expect(error?.code == .unknownKey)
    }

    // MARK: - Values

    @Test("logoff modes and durations", arguments: [
        ("{}", LogoffMode.waitForLogoff),
        ("{mode: waitForLogoff}", .waitForLogoff),
        ("{mode: forceAfter, after: 90}", .forceAfter(seconds: 90, message: LogoffMode.defaultWarning)),
        ("{mode: forceAfter, after: 30s}", .forceAfter(seconds: 30, message: LogoffMode.defaultWarning)),
        ("{mode: forceAfter, after: 2h, message: Bye}", .forceAfter(seconds: 7200, message: "Bye")),
        ("{mode: forceAfter, after: 0}", .forceAfter(seconds: 0, message: LogoffMode.defaultWarning)),
        ("{mode: forceAfter, after: 24h}", .forceAfter(seconds: 86_400, message: LogoffMode.defaultWarning)),
    ])
    func logoff(yaml: String, mode: LogoffMode) throws {
        #expect(try YAMLConfigDecoder.decode(LogoffMode.self, yaml: yaml) == mode)
    }

    @Test("desktop counts resolve against a total, rounding percentages up", arguments: [
        (DesktopCount.count(3), 10, 3), (.count(20), 10, 10), (.count(0), 10, 0),
        (.percent(25), 10, 3), (.percent(1), 10, 1), (.percent(100), 7, 7), (.percent(50), 0, 0), (.percent(10), 101, 11),
    ])
    func desktopCount(count: DesktopCount, total: Int, expected: Int) {
        #expect(count.resolve(of: total) == expected)
    }

    @Test("desktop counts decode from numbers and percentages", arguments: [
        ("3", DesktopCount.count(3)), ("\"3\"", .count(3)), ("25%", .percent(25)), ("\"100%\"", .percent(100)), ("0", .count(0)),
    ])
    func desktopCountDecoding(yaml: String, count: DesktopCount) throws {
        #expect(try YAMLConfigDecoder.decode(DesktopCount.self, yaml: yaml) == count)
    }

    /// 2024-01-01 00:00 UTC, a Monday.
    static let monday = Date(timeIntervalSince1970: 1_704_067_200)

    static func at(day: Int, _ hour: Int, _ minute: Int = 0) -> Date {
        monday.addingTimeInterval(TimeInterval(day * 86_400 + hour * 3600 + minute * 60))
    }

    @Test("a window past midnight belongs to the day it starts on", arguments: [
        (at(day: 0, 23), true),           // Monday 23:00
        (at(day: 1, 5, 59), true),        // Tuesday 05:59, Monday's window
        (at(day: 1, 6), false),           // Tuesday 06:00, the end
        (at(day: 1, 23), false),          // Tuesday 23:00: not a window day
        (at(day: 0, 5), false),           // Monday 05:00: Sunday's window, not a window day
        (at(day: 0, 21, 59), false),      // Monday 21:59
        (at(day: 6, 23), false),          // Sunday 23:00
        (at(day: 4, 22), true),           // Friday 22:00, the start
        (at(day: 5, 3), true),            // Saturday 03:00, Friday's window
    ])
    func windowOverMidnight(date: Date, inside: Bool) {
        let window = MaintenanceWindow(days: [.mon, .fri], startMinute: 22 * 60, endMinute: 6 * 60)
        #expect(window.contains(date) == inside)
    }

    @Test("a window in the day, and one with a UTC offset", arguments: [
        (at(day: 2, 8, 59), false, true), (at(day: 2, 9), true, true), (at(day: 2, 16, 59), true, false),
        (at(day: 2, 17), false, false), (at(day: 2, 7, 30), false, true), (at(day: 2, 6, 59), false, false),
    ])
    func windowInTheDay(date: Date, utc: Bool, plusTwo: Bool) throws {
        let window = try YAMLConfigDecoder.decode(MaintenanceWindow.self, yaml: "{start: \"09:00\", end: \"17:00\"}")
        #expect(window.contains(date) == utc)
        // 09:00-17:00 at UTC+02:00 is 07:00-15:00 UTC.
        let east = try YAMLConfigDecoder.decode(MaintenanceWindow.self, yaml: "{start: \"09:00\", end: \"17:00\", utcOffset: \"+02:00\"}")
        #expect(east.contains(date) == plusTwo)
    }

    @Test("an unquoted time is read as written, not as a base-60 number")
    func unquotedTime() throws {
        let window = try YAMLConfigDecoder.decode(MaintenanceWindow.self, yaml: "{days: [sat], start: 22:00, end: 06:00}")
        #expect(window == MaintenanceWindow(days: [.sat], startMinute: 1320, endMinute: 360))
    }

    @Test("ConfigurationError shows file:line:column")
    func errorDescription() {
        #expect(ConfigurationError(code: .invalidValue, file: "f.yaml", line: 3, column: 7, message: "m").description == "f.yaml:3:7: m")
        #expect(ConfigurationError(code: .invalidValue, file: "f.yaml", line: 3, message: "m").description == "f.yaml:3: m")
        #expect(ConfigurationError(code: .invalidValue, file: "f.yaml", message: "m").description == "f.yaml: m")
    }
}
