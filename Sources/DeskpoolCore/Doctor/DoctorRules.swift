/// The verdicts of `deskpool doctor`, from observations (no I/O here, so every rule is
/// unit-tested with made-up hosts).
public enum DoctorRules {
    public static let mebibyte: UInt64 = 1 << 20
    public static let gibibyte: UInt64 = 1 << 30

    /// What was seen of libvirt at the configured URI.
    public enum LibvirtObservation: Sendable, Hashable {
        case reachable(uri: String, version: String, cpus: Int, memoryBytes: UInt64)
        case unreachable(uri: String, message: String)
    }

    /// What was seen of the configured storage pool.
    public enum StoragePoolObservation: Sendable, Hashable {
        case notChecked
        case missing(name: String)
        case inactive(name: String)
        case active(name: String, path: String, writable: Bool, availableBytes: UInt64)
        case error(name: String, message: String)
    }

    public static func libvirt(_ observation: LibvirtObservation) -> DoctorCheck {
        switch observation {
        case let .reachable(uri, version, cpus, memory):
            return DoctorCheck(name: "libvirt", verdict: .pass,
                               detail: "\(uri) answers (libvirt \(version), \(cpus) CPUs, \(memory / gibibyte) GiB)")
        case let .unreachable(uri, message):
            return DoctorCheck(
                name: "libvirt", verdict: .fail, detail: "\(uri) does not answer: \(message)",
                hint: "start libvirtd (on hosts without systemd: scripts/libvirtd start), or fix hosts[].uri in deskpool.yaml")
        }
    }

    public static func acceleration(_ facts: VirtualizationFacts, setting: HostConfiguration.AccelerationSetting) -> DoctorCheck {
        let (acceleration, reason) = facts.verdict
        switch (setting, acceleration) {
        case (.kvm, .tcg):
            return DoctorCheck(name: "kvm", verdict: .fail, detail: "hosts[].acceleration is kvm, but \(reason)",
                               hint: "use acceleration: auto (or tcg) on this host, or enable hardware virtualization")
        case (_, .kvm) where setting != .tcg:
            return DoctorCheck(name: "kvm", verdict: .pass, detail: "desktops run under KVM: \(reason)")
        case (.tcg, _):
            return DoctorCheck(name: "kvm", verdict: .warn, required: false,
                               detail: "hosts[].acceleration is tcg: desktops run emulated (TCG), 5-20x slower than KVM",
                               hint: "set acceleration: auto where KVM can run guests")
        default:
            return DoctorCheck(name: "kvm", verdict: .warn, required: false,
                               detail: "desktops will run under TCG (emulated, much slower): \(reason)",
                               hint: "fine for tests and demos; production hosts need KVM with VMX/SVM")
        }
    }

    public static func storagePool(_ observation: StoragePoolObservation, path configuredPath: String) -> DoctorCheck {
        let fix = "deskpool doctor --fix creates it as a dir pool at \(configuredPath)"
        switch observation {
        case .notChecked:
            return DoctorCheck(name: "storage pool", verdict: .fail, detail: "not checked: libvirt is not reachable",
                               hint: "fix the libvirt check first")
        case .missing(let name):
            return DoctorCheck(name: "storage pool", verdict: .fail, detail: "libvirt has no storage pool '\(name)'", hint: fix)
        case .inactive(let name):
            return DoctorCheck(name: "storage pool", verdict: .fail, detail: "storage pool '\(name)' exists but is not started",
                               hint: "deskpool doctor --fix starts it and marks it autostart")
        case let .active(name, path, writable, available):
            guard writable else {
                return DoctorCheck(name: "storage pool", verdict: .fail, detail: "'\(name)' at \(path) is not writable",
                                   hint: "the broker must be able to write there (run as root, or fix the directory's owner)")
            }
            return DoctorCheck(name: "storage pool", verdict: .pass,
                               detail: "'\(name)' at \(path), \(available / gibibyte) GiB free")
        case let .error(name, message):
            return DoctorCheck(name: "storage pool", verdict: .fail, detail: "cannot inspect '\(name)': \(message)",
                               hint: "check libvirtd's log")
        }
    }

    /// What `doctor` found of the configured store.
    public enum StoreObservation: Sendable, Hashable {
        case sqlite(path: String)
        /// Reached: whether the connection is encrypted, whether the server is on loopback,
        /// and the schema migrations applied (empty: none yet).
        case postgres(server: String, encrypted: Bool, loopback: Bool, migrations: [String])
        case unreachable(server: String, message: String)
    }

    public static func store(_ observation: StoreObservation) -> DoctorCheck {
        switch observation {
        case .sqlite(let path):
            return DoctorCheck(name: "store", verdict: .pass, detail: "SQLite at \(path) (one broker)")
        case let .unreachable(server, message):
            return DoctorCheck(name: "store", verdict: .fail, detail: "PostgreSQL at \(server) does not answer: \(message)",
                               hint: "check store.url, the password (store.passwordFile or DESKPOOL_STORE_PASSWORD) and that the server accepts this host (pg_hba.conf)")
        case let .postgres(server, encrypted, loopback, migrations):
            let schema = migrations.isEmpty ? "no schema yet (the broker makes it when it starts)" : "schema \(migrations.joined(separator: ", "))"
            if !encrypted && !loopback {
                return DoctorCheck(name: "store", verdict: .warn, required: false, detail: "PostgreSQL at \(server) without TLS; \(schema)",
                                   hint: "add ?sslmode=verify-full to store.url: logins and desktop records cross the network in clear")
            }
            return DoctorCheck(name: "store", verdict: .pass, detail: "PostgreSQL at \(server)\(encrypted ? " over TLS" : ""); \(schema)")
        }
    }

    public static func pamService(_ service: String, foundAt path: String?, searched: [String]) -> DoctorCheck {
        if let path {
            return DoctorCheck(name: "PAM service", verdict: .pass, detail: "\(path) is present")
        }
        return DoctorCheck(
            name: "PAM service", verdict: .fail,
            detail: "no PAM service '\(service)' in \(searched.joined(separator: " or ")); logins would fall back to 'other'",
            hint: "deskpool doctor --fix installs Deskpool's (pam_unix), or write /etc/pam.d/\(service) for your directory")
    }

    public static func memory(availableBytes: UInt64?) -> DoctorCheck {
        guard let available = availableBytes else {
            return DoctorCheck(name: "memory", verdict: .warn, required: false, detail: "cannot read /proc/meminfo")
        }
        let text = "\(available / mebibyte) MiB available"
        if available < 512 * mebibyte {
            return DoctorCheck(name: "memory", verdict: .fail, detail: text, hint: "each desktop needs its memory plus ~60 MiB; free memory or add RAM")
        }
        if available < 2 * gibibyte {
            return DoctorCheck(name: "memory", verdict: .warn, required: false, detail: text, hint: "room for only a few small desktops")
        }
        return DoctorCheck(name: "memory", verdict: .pass, detail: text)
    }

    public static func disk(_ label: String, path: String, availableBytes: UInt64?) -> DoctorCheck {
        let name = "disk (\(label))"
        guard let available = availableBytes else {
            return DoctorCheck(name: name, verdict: .warn, required: false, detail: "cannot tell free space at \(path)")
        }
        let text = "\(available / gibibyte) GiB free at \(path)"
        if available < gibibyte {
            return DoctorCheck(name: name, verdict: .fail, detail: text, hint: "base images and desktop disks need space; free some")
        }
        if available < 10 * gibibyte {
            return DoctorCheck(name: name, verdict: .warn, required: false, detail: text, hint: "enough for tests, tight for real images")
        }
        return DoctorCheck(name: name, verdict: .pass, detail: text)
    }

    /// The state directory and its secret files: `problems` from `StateDirectory.problems()`.
    /// The broker refuses to start with any of them, so this check is required.
    public static func statePermissions(path: String, exists: Bool, problems: [String]) -> DoctorCheck {
        guard exists else {
            return DoctorCheck(name: "state files", verdict: .pass, detail: "\(path) will be created 0700 at the first start")
        }
        guard problems.isEmpty else {
            return DoctorCheck(name: "state files", verdict: .fail, detail: problems.joined(separator: "; "),
                               hint: "`deskpool doctor --fix` sets these modes; the broker refuses to start until then")
        }
        return DoctorCheck(name: "state files", verdict: .pass, detail: "\(path) and its store and key are the broker's own (0700/0600)")
    }
}
