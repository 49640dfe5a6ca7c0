public import Foundation

/// The checks of a CheckPolicy that read only what libvirt says of a desktop (its live and
/// persistent definitions) and what the store says: pure, so each rule has a table test.
/// Checks that need the guest agent (`guestAgent`, `guestCommand`, `fileHash`) return nil
/// here; `RolloutService` runs them. Evidence never holds a password or ticket.
public enum DesktopChecks {
    public struct Subject: Sendable {
        public var desktop: Desktop
        public var pool: PoolSpec
        public var template: TemplateDefinition?
        /// The version the pool's new desktops get now.
        public var poolVersion: Int?
        public var facts: DesktopFacts
        public var now: Date

        public init(desktop: Desktop, pool: PoolSpec, template: TemplateDefinition?, poolVersion: Int?, facts: DesktopFacts, now: Date) {
            self.desktop = desktop
            self.pool = pool
            self.template = template
            self.poolVersion = poolVersion
            self.facts = facts
            self.now = now
        }
    }

    /// The verdict of a definition check, or nil when the check needs the guest.
    public static func evaluate(_ check: Check, _ subject: Subject) -> CheckOutcome? {
        func outcome(_ passed: Bool, _ evidence: String) -> CheckOutcome { CheckOutcome(check: check.name, passed: passed, evidence: evidence) }
        let facts = subject.facts
        switch check.rule {
        case .consolePassword(let maxValidity):
            guard let console = facts.current.console else { return outcome(false, "no SPICE display in the definition") }
            guard console.passwordSet else { return outcome(false, "the SPICE display has no password: anyone reaching its port gets the console") }
            guard let validTo = console.passwordValidTo else {
                // Deskpool sets an expiry whenever it hands a password out: none means the
                // random password set when the desktop was defined, never given to anyone.
                return outcome(true, "password set (random, from provisioning; never handed out)")
            }
            let limit = subject.now.addingTimeInterval(TimeInterval(maxValidity))
            return validTo <= limit
                ? outcome(true, "password set, valid until \(stamp(validTo))")
                : outcome(false, "password valid until \(stamp(validTo)), more than \(maxValidity) s from now")
        case .tlsRequired:
            guard let console = facts.current.console else { return outcome(false, "no SPICE display in the definition") }
            return console.tlsRequired ? outcome(true, "SPICE channels require TLS (defaultMode secure)")
                : outcome(false, "SPICE channels may be plain (no defaultMode='secure')")
        case .forbiddenDevices(let devices):
            var found: [String] = []
            for (label, definition) in [("running", facts.live), ("definition", Optional(facts.persistent))] {
                guard let definition else { continue }
                let there = devices.filter { Self.present($0, in: definition.hardware) }
                if !there.isEmpty { found.append("\(label): \(there.map(describe).joined(separator: ", "))") }
            }
            return found.isEmpty ? outcome(true, "none of \(devices.joined(separator: ", ")) present")
                : outcome(false, "forbidden device present (\(found.joined(separator: "; ")))")
        case .templateVersion(let within):
            let version = facts.identity?.version ?? subject.desktop.version
            guard let current = subject.poolVersion else { return outcome(false, "the pool has no published version to compare with") }
            let behind = current - version
            return behind <= within ? outcome(true, "on v\(version); the pool's version is v\(current)")
                : outcome(false, "on v\(version), \(behind) version(s) behind the pool's v\(current) (allowed: \(within))")
        case .noUnexpectedDisks:
            let own = subject.desktop.volumeName
            let disks = Set(facts.persistent.disks + (facts.live?.disks ?? []))
            let unexpected = disks.filter { !$0.hasSuffix("/" + own) }.sorted()
            if !disks.contains(where: { $0.hasSuffix("/" + own) }) {
                return outcome(false, "its own disk \(own) is missing" + (unexpected.isEmpty ? "" : "; disks: \(unexpected.joined(separator: ", "))"))
            }
            return unexpected.isEmpty ? outcome(true, "one disk, its own (\(own))")
                : outcome(false, "unexpected disk(s): \(unexpected.joined(separator: ", "))")
        case .configuration:
            guard let template = subject.template else { return outcome(false, "its template \(subject.pool.template) is gone") }
            let wanted = DesktopHardware(template: template, pool: subject.pool)
            var drift: [String] = []
            for (label, definition) in [("definition", Optional(facts.persistent)), ("running", facts.live)] {
                guard let definition else { continue }
                let differences = PolicyPlanner.differences(wanted, definition.hardware)
                // The running guest's memory may be anywhere up to the maximum while a change waits.
                drift += differences.map { "\(label) \($0.0) is \($0.2), the pool says \($0.1)" }
            }
            return drift.isEmpty ? outcome(true, "matches the pool's configuration (generation \(subject.pool.generation))")
                : outcome(false, "drift: " + drift.joined(separator: "; "))
        case .guestAgent, .guestCommand, .fileHash:
            return nil
        }
    }

    static func present(_ device: String, in hardware: DesktopHardware) -> Bool {
        switch device {
        case "usbredir": hardware.usbRedirection
        case "smartcard": hardware.smartcard
        case "audio": hardware.audio
        case "clipboard": hardware.clipboard
        default: false
        }
    }

    static func describe(_ device: String) -> String {
        switch device {
        case "usbredir": "USB redirection (redirdev)"
        case "smartcard": "smartcard"
        case "audio": "sound card"
        case "clipboard": "clipboard sharing (SPICE agent channel)"
        default: device
        }
    }

    static func stamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
    }
}
