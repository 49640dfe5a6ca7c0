import DeskpoolCore
import Testing

@Suite("Doctor verdicts")
struct DoctorRulesTests {
    static let gib = DoctorRules.gibibyte
    static let mib = DoctorRules.mebibyte

    @Test("KVM present is not enough", arguments: [
        // (device, accessible, flags, modules) -> acceleration
        (false, false, Set<String>(), Set<String>(), Acceleration.tcg, "missing"),
        (true, true, ["hypervisor"], ["kvm", "kvm_pvm"], .tcg, "kvm_pvm"),
        (true, true, ["hypervisor"], ["kvm"], .tcg, "vmx/svm"),
        (true, false, ["vmx"], ["kvm", "kvm_intel"], .tcg, "not accessible"),
        (true, true, ["vmx"], ["kvm", "kvm_intel"], .kvm, "usable"),
        (true, true, ["svm"], ["kvm", "kvm_amd"], .kvm, "usable"),
    ] as [(Bool, Bool, Set<String>, Set<String>, Acceleration, String)])
    func acceleration(device: Bool, accessible: Bool, flags: Set<String>, modules: Set<String>, expected: Acceleration, reason: String) {
        let facts = VirtualizationFacts(kvmDevicePresent: device, kvmDeviceAccessible: accessible, cpuFlags: flags, kvmModules: modules)
        #expect(facts.verdict.acceleration == expected)
        #expect(facts.verdict.reason.contains(reason))
    }

    @Test("TCG is a warning under auto, a failure when KVM is demanded")
    func accelerationCheck() {
        let pvm = VirtualizationFacts(kvmDevicePresent: true, kvmDeviceAccessible: true, cpuFlags: [], kvmModules: ["kvm_pvm"])
        let good = VirtualizationFacts(kvmDevicePresent: true, kvmDeviceAccessible: true, cpuFlags: ["vmx"], kvmModules: ["kvm"])
        #expect(DoctorRules.acceleration(pvm, setting: .auto).verdict == .warn)
        #expect(DoctorRules.acceleration(pvm, setting: .auto).required == false)
        #expect(DoctorRules.acceleration(pvm, setting: .kvm).verdict == .fail)
        #expect(DoctorRules.acceleration(good, setting: .auto).verdict == .pass)
        #expect(DoctorRules.acceleration(good, setting: .tcg).verdict == .warn)
    }

    @Test("memory and disk thresholds")
    func thresholds() {
        #expect(DoctorRules.memory(availableBytes: 256 * Self.mib).verdict == .fail)
        #expect(DoctorRules.memory(availableBytes: 1 * Self.gib).verdict == .warn)
        #expect(DoctorRules.memory(availableBytes: 8 * Self.gib).verdict == .pass)
        #expect(DoctorRules.memory(availableBytes: nil).required == false)
        #expect(DoctorRules.disk("images", path: "/x", availableBytes: 100 * Self.mib).verdict == .fail)
        #expect(DoctorRules.disk("images", path: "/x", availableBytes: 5 * Self.gib).verdict == .warn)
        #expect(DoctorRules.disk("images", path: "/x", availableBytes: 50 * Self.gib).verdict == .pass)
    }

    @Test("storage pool and PAM verdicts carry a hint")
    func hints() {
        let missing = DoctorRules.storagePool(.missing(name: "deskpool"), path: "/var/lib/deskpool/images")
        #expect(missing.verdict == .fail)
        #expect(missing.hint?.contains("--fix") == true)
        let readOnly = DoctorRules.storagePool(.active(name: "p", path: "/p", writable: false, availableBytes: 1), path: "/p")
        #expect(readOnly.verdict == .fail)
        #expect(DoctorRules.storagePool(.active(name: "p", path: "/p", writable: true, availableBytes: 1), path: "/p").verdict == .pass)
        let pam = DoctorRules.pamService("deskpool", foundAt: nil, searched: ["/etc/pam.d"])
        #expect(pam.verdict == .fail && pam.hint != nil)
        #expect(DoctorRules.libvirt(.unreachable(uri: "qemu:///system", message: "no socket")).hint?.contains("scripts/libvirtd") == true)
    }

    @Test("the store: SQLite, PostgreSQL over TLS or on loopback, PostgreSQL in clear over a network, unreachable", arguments: [
        (DoctorRules.StoreObservation.sqlite(path: "/var/lib/deskpool/deskpool.sqlite"), DoctorCheck.Verdict.pass, "SQLite"),
        (.postgres(server: "db:5432/deskpool", encrypted: true, loopback: false, migrations: ["v1", "v2"]), .pass, "over TLS; schema v1, v2"),
        (.postgres(server: "127.0.0.1:5432/deskpool", encrypted: false, loopback: true, migrations: []), .pass, "no schema yet"),
        (.postgres(server: "db:5432/deskpool", encrypted: false, loopback: false, migrations: ["v1"]), .warn, "without TLS"),
        (.unreachable(server: "db:5432/deskpool", message: "password authentication failed"), .fail, "does not answer"),
    ])
    func store(_ observation: DoctorRules.StoreObservation, verdict: DoctorCheck.Verdict, mentions: String) {
        let check = DoctorRules.store(observation)
        #expect(check.verdict == verdict)
        #expect(check.detail.contains(mentions))
        #expect(check.verdict == .pass || check.hint != nil)
    }

    @Test("a report fails only on required failures")
    func report() {
        let warnOnly = DoctorReport(checks: [
            DoctorCheck(name: "a", verdict: .pass, detail: "fine"),
            DoctorCheck(name: "b", verdict: .warn, required: false, detail: "meh", hint: "do x"),
        ])
        #expect(warnOnly.exitStatus == 0)
        #expect(warnOnly.rendered().contains("hint: do x"))
        let failing = DoctorReport(checks: [DoctorCheck(name: "c", verdict: .fail, detail: "bad", hint: "fix")])
        #expect(failing.exitStatus == 1)
        #expect(failing.rendered().contains("[FAIL] c"))
        #expect(failing.rendered().contains("1 required check failed"))
    }
}
