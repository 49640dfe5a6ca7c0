/// How guests run on a host: hardware-assisted (KVM) or emulated (TCG, much slower).
public enum Acceleration: String, Sendable, Hashable, Codable {
    case kvm
    /// qemu's software emulator; libvirt domain type `qemu`.
    case tcg

    /// The libvirt domain type for this acceleration.
    public var domainType: String {
        switch self {
        case .kvm: "kvm"
        case .tcg: "qemu"
        }
    }
}

/// What can be read off a host about KVM, without booting a guest.
public struct VirtualizationFacts: Sendable, Hashable {
    /// /dev/kvm exists.
    public var kvmDevicePresent: Bool
    /// This process can open /dev/kvm for reading and writing.
    public var kvmDeviceAccessible: Bool
    /// CPU flags from /proc/cpuinfo (only the ones that matter: vmx, svm, hypervisor).
    public var cpuFlags: Set<String>
    /// Loaded kernel modules whose names start with "kvm".
    public var kvmModules: Set<String>

    public init(kvmDevicePresent: Bool, kvmDeviceAccessible: Bool, cpuFlags: Set<String>, kvmModules: Set<String>) {
        self.kvmDevicePresent = kvmDevicePresent
        self.kvmDeviceAccessible = kvmDeviceAccessible
        self.cpuFlags = cpuFlags
        self.kvmModules = kvmModules
    }

    /// Whether real guests can run under KVM here, and why not.
    ///
    /// Present is not enough: on hosts nested through a paravirtual KVM (`kvm_pvm`) the CPU
    /// shows no VMX/SVM, /dev/kvm exists and SeaBIOS even runs, but a Linux guest stops with
    /// "KVM internal error. Suberror: 1". Such hosts must use TCG.
    public var verdict: (acceleration: Acceleration, reason: String) {
        guard kvmDevicePresent else {
            return (.tcg, "/dev/kvm is missing (no KVM module loaded, or no hardware virtualization)")
        }
        if kvmModules.contains("kvm_pvm") {
            return (.tcg, "KVM here is nested through kvm_pvm without VMX/SVM; Linux guests fail under it with a KVM internal error")
        }
        guard cpuFlags.contains("vmx") || cpuFlags.contains("svm") else {
            return (.tcg, "the CPU shows no vmx/svm flag, so /dev/kvm cannot run real guests reliably")
        }
        guard kvmDeviceAccessible else {
            return (.tcg, "/dev/kvm is not accessible (run scripts/libvirtd start, or chgrp kvm /dev/kvm && chmod 0660 /dev/kvm)")
        }
        return (.kvm, "/dev/kvm is usable and the CPU has hardware virtualization")
    }
}
