import DeskpoolCore
import Foundation
import Testing

/// `DesktopChecks.evaluate`: each rule a CheckPolicy evaluates from a desktop's definitions
/// and records, passing and failing, with its evidence. Pure, so every case is a row.
@Suite("DesktopChecks: the definition checks of a CheckPolicy")
struct DesktopChecksTests {
    /// 2027-01-15T08:00:00Z.
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let template = TemplateDefinition(name: "tiny", vcpus: 2, memoryMiB: 2048, domainXML: "<domain/>")
    static let pool = PoolSpec(name: "eng", template: "tiny", generation: 4)
    /// Version 3, incarnation 2: its own disk is `dp-eng-001-2.qcow2`.
    static let desktop = Desktop(id: "d1", name: "eng-001", pool: "eng", host: "a", template: "tiny", version: 3, state: .ready,
                                 incarnation: 2, generation: 4, createdAt: now)
    static let ownDisk = "/var/lib/libvirt/images/dp-eng-001-2.qcow2"
    /// What the pool gives its desktops: 2 vCPUs, 2048 MiB, clipboard on, nothing else.
    static let wanted = DesktopHardware(template: template, pool: pool)

    static func display(password: Bool = true, validTo: Date? = nil, tls: Bool = true) -> ConsoleFacts {
        ConsoleFacts(passwordSet: password, passwordValidTo: validTo, tlsRequired: tls, listenAddress: "127.0.0.1")
    }

    static func definition(_ hardware: DesktopHardware = wanted, disks: [String] = [ownDisk], console: ConsoleFacts? = display()) -> DefinitionFacts {
        DefinitionFacts(memoryMiB: hardware.memoryMiB, maxMemoryMiB: hardware.memoryMiB, vcpus: hardware.vcpus, hardware: hardware,
                        channels: ["org.qemu.guest_agent.0", "com.redhat.spice.0"], disks: disks, console: console)
    }

    static func hardware(_ change: (inout DesktopHardware) -> Void) -> DesktopHardware {
        var hardware = wanted
        change(&hardware)
        return hardware
    }

    static func identity(_ version: Int?) -> DesktopIdentity? {
        version.map { DesktopIdentity(id: "d1", name: "eng-001", pool: "eng", template: "tiny", version: $0, incarnation: 2, generation: 4) }
    }

    /// A running desktop: its live definition is `live`, or the same as the persistent one.
    static func facts(_ persistent: DefinitionFacts = definition(), live: DefinitionFacts? = nil, version: Int? = nil) -> DesktopFacts {
        DesktopFacts(identity: identity(version), persistent: persistent, live: live ?? persistent)
    }

    /// A desktop that is not running: its persistent definition only.
    static func stopped(_ persistent: DefinitionFacts = definition(), version: Int? = nil) -> DesktopFacts {
        DesktopFacts(identity: identity(version), persistent: persistent, live: nil)
    }

    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        let rule: Check.Rule
        let facts: DesktopFacts
        var pool: PoolSpec = DesktopChecksTests.pool
        var template: TemplateDefinition? = DesktopChecksTests.template
        var poolVersion: Int? = 3
        let passed: Bool
        /// The evidence, or a phrase of it.
        let evidence: String
        var testDescription: String { name }
    }

    static func evaluate(_ rule: Check.Rule, _ facts: DesktopFacts, pool: PoolSpec = pool, template: TemplateDefinition? = template,
                         poolVersion: Int? = 3) -> CheckOutcome? {
        DesktopChecks.evaluate(Check(name: "the-check", rule: rule), DesktopChecks.Subject(
            desktop: desktop, pool: pool, template: template, poolVersion: poolVersion, facts: facts, now: now))
    }

    static let definitionRules: [Row] = [
        // MARK: consolePassword (at most 300 s)
        Row(name: "password: no SPICE display", rule: .consolePassword(maxValiditySeconds: 300),
            facts: facts(definition(console: nil)), passed: false, evidence: "no SPICE display in the definition"),
        Row(name: "password: the running definition has no display (the persistent one does not count)", rule: .consolePassword(maxValiditySeconds: 300),
            facts: facts(definition(), live: definition(console: nil)), passed: false, evidence: "no SPICE display in the definition"),
        Row(name: "password: none set", rule: .consolePassword(maxValiditySeconds: 300),
            facts: facts(definition(console: display(password: false))), passed: false,
            evidence: "the SPICE display has no password: anyone reaching its port gets the console"),
        Row(name: "password: none set live, though the persistent definition has one", rule: .consolePassword(maxValiditySeconds: 300),
            facts: facts(definition(), live: definition(console: display(password: false))), passed: false, evidence: "has no password"),
        Row(name: "password: set without expiry (provisioning's random one)", rule: .consolePassword(maxValiditySeconds: 300),
            facts: facts(), passed: true, evidence: "password set (random, from provisioning; never handed out)"),
        Row(name: "password: stopped desktop, persistent definition's password", rule: .consolePassword(maxValiditySeconds: 300),
            facts: stopped(), passed: true, evidence: "password set (random, from provisioning; never handed out)"),
        Row(name: "password: expires exactly at the limit", rule: .consolePassword(maxValiditySeconds: 300),
            facts: facts(definition(console: display(validTo: now.addingTimeInterval(300)))), passed: true,
            evidence: "password set, valid until 2027-01-15T08:05:00Z"),
        Row(name: "password: expires one second past the limit", rule: .consolePassword(maxValiditySeconds: 300),
            facts: facts(definition(console: display(validTo: now.addingTimeInterval(301)))), passed: false,
            evidence: "password valid until 2027-01-15T08:05:01Z, more than 300 s from now"),
        Row(name: "password: already expired", rule: .consolePassword(maxValiditySeconds: 300),
            facts: facts(definition(console: display(validTo: now.addingTimeInterval(-60)))), passed: true,
            evidence: "password set, valid until 2027-01-15T07:59:00Z"),
        Row(name: "password: a live ticket's expiry counts, not the persistent one's", rule: .consolePassword(maxValiditySeconds: 30),
            facts: facts(definition(), live: definition(console: display(validTo: now.addingTimeInterval(3600)))), passed: false,
            evidence: "more than 30 s from now"),

        // MARK: tlsRequired
        Row(name: "TLS: required", rule: .tlsRequired, facts: facts(), passed: true, evidence: "SPICE channels require TLS (defaultMode secure)"),
        Row(name: "TLS: not required", rule: .tlsRequired, facts: facts(definition(console: display(tls: false))), passed: false,
            evidence: "SPICE channels may be plain (no defaultMode='secure')"),
        Row(name: "TLS: no display", rule: .tlsRequired, facts: facts(definition(console: nil)), passed: false, evidence: "no SPICE display in the definition"),
        Row(name: "TLS: the running definition is plain, the persistent one secure", rule: .tlsRequired,
            facts: facts(definition(), live: definition(console: display(tls: false))), passed: false, evidence: "may be plain"),
        Row(name: "TLS: stopped desktop, secure definition", rule: .tlsRequired, facts: stopped(), passed: true, evidence: "require TLS"),

        // MARK: forbiddenDevices
        Row(name: "devices: none of them", rule: .forbiddenDevices(["usbredir", "smartcard"]), facts: facts(), passed: true,
            evidence: "none of usbredir, smartcard present"),
        Row(name: "devices: USB redirection in a stopped desktop's definition", rule: .forbiddenDevices(["usbredir", "smartcard"]),
            facts: stopped(definition(hardware { $0.usbRedirection = true })), passed: false,
            evidence: "forbidden device present (definition: USB redirection (redirdev))"),
        Row(name: "devices: a smartcard only in the running guest", rule: .forbiddenDevices(["usbredir", "smartcard"]),
            facts: facts(definition(), live: definition(hardware { $0.smartcard = true })), passed: false,
            evidence: "forbidden device present (running: smartcard)"),
        Row(name: "devices: both, running and defined", rule: .forbiddenDevices(["usbredir", "smartcard"]),
            facts: facts(definition(hardware { $0.usbRedirection = true; $0.smartcard = true })), passed: false,
            evidence: "forbidden device present (running: USB redirection (redirdev), smartcard; definition: USB redirection (redirdev), smartcard)"),
        Row(name: "devices: a sound card waiting for a restart", rule: .forbiddenDevices(["audio"]),
            facts: facts(definition(hardware { $0.audio = true }), live: definition()), passed: false,
            evidence: "forbidden device present (definition: sound card)"),
        Row(name: "devices: the clipboard, on by default", rule: .forbiddenDevices(["clipboard"]), facts: facts(), passed: false,
            evidence: "running: clipboard sharing (SPICE agent channel); definition: clipboard sharing (SPICE agent channel)"),
        Row(name: "devices: clipboard off", rule: .forbiddenDevices(["clipboard", "audio"]),
            facts: facts(definition(hardware { $0.clipboard = false })), passed: true, evidence: "none of clipboard, audio present"),

        // MARK: templateVersion (the pool is on v3 unless the row says otherwise; the record says v3)
        Row(name: "version: current", rule: .templateVersion(within: 0), facts: facts(), passed: true, evidence: "on v3; the pool's version is v3"),
        Row(name: "version: one behind, none allowed", rule: .templateVersion(within: 0), facts: facts(), poolVersion: 4, passed: false,
            evidence: "on v3, 1 version(s) behind the pool's v4 (allowed: 0)"),
        Row(name: "version: one behind, one allowed", rule: .templateVersion(within: 1), facts: facts(), poolVersion: 4, passed: true,
            evidence: "on v3; the pool's version is v4"),
        Row(name: "version: three behind, two allowed", rule: .templateVersion(within: 2), facts: facts(), poolVersion: 6, passed: false,
            evidence: "on v3, 3 version(s) behind the pool's v6 (allowed: 2)"),
        Row(name: "version: ahead of a pool pinned back", rule: .templateVersion(within: 0), facts: facts(), poolVersion: 2, passed: true,
            evidence: "on v3; the pool's version is v2"),
        Row(name: "version: the domain's metadata wins over the record", rule: .templateVersion(within: 0), facts: facts(version: 2), passed: false,
            evidence: "on v2, 1 version(s) behind the pool's v3 (allowed: 0)"),
        Row(name: "version: the pool has no published version", rule: .templateVersion(within: 5), facts: facts(), poolVersion: nil, passed: false,
            evidence: "the pool has no published version to compare with"),

        // MARK: noUnexpectedDisks (its own disk is dp-eng-001-2.qcow2)
        Row(name: "disks: its own only", rule: .noUnexpectedDisks, facts: facts(), passed: true, evidence: "one disk, its own (dp-eng-001-2.qcow2)"),
        Row(name: "disks: an extra disk in the definition", rule: .noUnexpectedDisks,
            facts: stopped(definition(disks: [ownDisk, "/srv/extra.qcow2"])), passed: false, evidence: "unexpected disk(s): /srv/extra.qcow2"),
        Row(name: "disks: a disk hot-plugged into the running guest", rule: .noUnexpectedDisks,
            facts: facts(definition(), live: definition(disks: [ownDisk, "/srv/hot.qcow2"])), passed: false,
            evidence: "unexpected disk(s): /srv/hot.qcow2"),
        Row(name: "disks: several extras, sorted", rule: .noUnexpectedDisks,
            facts: facts(definition(disks: ["/srv/z.qcow2", ownDisk, "/srv/a.qcow2"])), passed: false,
            evidence: "unexpected disk(s): /srv/a.qcow2, /srv/z.qcow2"),
        Row(name: "disks: none at all", rule: .noUnexpectedDisks, facts: facts(definition(disks: [])), passed: false,
            evidence: "its own disk dp-eng-001-2.qcow2 is missing"),
        Row(name: "disks: the previous incarnation's disk is not its own", rule: .noUnexpectedDisks,
            facts: facts(definition(disks: ["/var/lib/libvirt/images/dp-eng-001-1.qcow2"])), passed: false,
            evidence: "its own disk dp-eng-001-2.qcow2 is missing; disks: /var/lib/libvirt/images/dp-eng-001-1.qcow2"),
        Row(name: "disks: a file merely ending in its volume's name is not its own", rule: .noUnexpectedDisks,
            facts: facts(definition(disks: ["/srv/copy-of-dp-eng-001-2.qcow2"])), passed: false,
            evidence: "its own disk dp-eng-001-2.qcow2 is missing; disks: /srv/copy-of-dp-eng-001-2.qcow2"),

        // MARK: configuration (the pool wants 2 vCPUs, 2048 MiB, clipboard on, generation 4)
        Row(name: "configuration: matches", rule: .configuration, facts: facts(), passed: true,
            evidence: "matches the pool's configuration (generation 4)"),
        Row(name: "configuration: a stopped desktop that matches", rule: .configuration, facts: stopped(), passed: true,
            evidence: "matches the pool's configuration (generation 4)"),
        Row(name: "configuration: its template is gone", rule: .configuration, facts: facts(), template: nil, passed: false,
            evidence: "its template tiny is gone"),
        Row(name: "configuration: vCPUs changed in the definition", rule: .configuration,
            facts: stopped(definition(hardware { $0.vcpus = 4 })), passed: false, evidence: "drift: definition vcpus is 4, the pool says 2"),
        Row(name: "configuration: USB redirection added to the running guest only", rule: .configuration,
            facts: facts(definition(), live: definition(hardware { $0.usbRedirection = true })), passed: false,
            evidence: "drift: running usbRedirection is true, the pool says false"),
        Row(name: "configuration: drift in both, definition first", rule: .configuration,
            facts: facts(definition(hardware { $0.vcpus = 1; $0.streaming = .all })), passed: false,
            evidence: "drift: definition vcpus is 1, the pool says 2; definition streaming is all, the pool says filter; running vcpus is 1, the pool says 2; running streaming is all, the pool says filter"),
        Row(name: "configuration: the pool's overrides are what is wanted", rule: .configuration,
            facts: facts(definition(DesktopHardware(vcpus: 4, memoryMiB: 4096, audio: true, usbRedirection: true))),
            pool: {
                var pool = DesktopChecksTests.pool
                pool.desktop = DesktopSettings(vcpus: 4, memoryMiB: 4096, audio: true)
                pool.console.usbRedirection = true
                return pool
            }(), passed: true, evidence: "matches the pool's configuration (generation 4)"),
        Row(name: "configuration: the template's hardware where the pool sets nothing", rule: .configuration,
            facts: facts(definition(DesktopHardware(vcpus: 4, memoryMiB: 4096))),
            pool: {
                var pool = DesktopChecksTests.pool
                pool.desktop = DesktopSettings(vcpus: 4)
                return pool
            }(), passed: false, evidence: "drift: definition memoryMiB is 4096, the pool says 2048"),
    ]

    @Test("each definition rule, passing and failing, with its evidence", arguments: definitionRules)
    func definitionRule(_ row: Row) throws {
        let outcome = try #require(Self.evaluate(row.rule, row.facts, pool: row.pool, template: row.template, poolVersion: row.poolVersion))
        #expect(outcome.check == "the-check")
        #expect(outcome.passed == row.passed, "\(outcome.evidence)")
        #expect(outcome.evidence.contains(row.evidence), "\(outcome.evidence)")
    }

    @Test("rules that need the guest are left to the rollout service", arguments: [
        Check.Rule.guestAgent,
        .guestCommand(GuestCommand(path: "/usr/bin/true"), exitCode: 0, outputPattern: nil, timeoutSeconds: 10),
        .fileHash(path: "/etc/hosts", sha256: String(repeating: "0", count: 64)),
    ])
    func guestRules(_ rule: Check.Rule) {
        // Even on a desktop whose definition fails every other rule.
        let broken = Self.facts(Self.definition(Self.hardware { $0.usbRedirection = true }, disks: [], console: nil))
        #expect(Self.evaluate(rule, broken) == nil)
    }

    @Test("a verdict carries its check's name")
    func checkName() throws {
        let outcome = try #require(DesktopChecks.evaluate(Check(name: "spice-password", rule: .consolePassword(maxValiditySeconds: 60)),
                                                          DesktopChecks.Subject(desktop: Self.desktop, pool: Self.pool, template: Self.template,
                                                                                poolVersion: 3, facts: Self.facts(), now: Self.now)))
        #expect(outcome == CheckOutcome(check: "spice-password", passed: true, evidence: "password set (random, from provisioning; never handed out)"))
    }
}
