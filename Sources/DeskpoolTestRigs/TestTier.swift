import DeskpoolCore
import DeskpoolLibvirt
import Foundation

/// The tiers of Deskpool's tests that need something from the machine, and whether a test of
/// that tier runs here.
///
/// Outside CI a tier whose needs are missing is skipped, and the skip says why. In CI
/// (`CI=true`), where `.ci/run` installs and starts everything, every tier is enabled: a
/// missing piece then fails the test loudly instead of skipping it.
public enum TestTier: Sendable {
    /// Real libvirtd at `qemu:///system` (started by `scripts/libvirtd start`).
    case realLibvirt
    /// Real PAM with pam_unix and real users (made by `scripts/pam-real-users create`).
    case realPAM
    /// A real guest booted from the tiny test image (templates/tiny-linux) on qemu:///system.
    case tinyGuest
    /// In-process PAM through pam_wrapper (`LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1`).
    case pamWrapper
    /// A real guest plus remote-viewer under Xvfb (virt-viewer, xvfb, imagemagick, tesseract).
    case viewer
    /// `viewer`, with SPICE TLS on libvirtd (`scripts/spice-tls`, then a libvirtd restart).
    case spiceTLS
    /// The tools that read a NoCloud seed as a guest would: mtools, blkid, fsck.fat and
    /// cloud-init's schema check (Debian's mtools, util-linux, dosfstools, cloud-init).
    case seedTools

    /// A real guest booted from the Debian cloud-init image (templates/debian-cloud) on
    /// qemu:///system, on libvirt's NAT network `default` (Debian's dnsmasq-base).
    case cloudGuest

    /// The Debian cloud-init test image (`DESKPOOL_CLOUD_IMAGE`, default as scripts/test builds it).
    public static var cloudImagePath: String {
        ProcessInfo.processInfo.environment["DESKPOOL_CLOUD_IMAGE"] ?? "/var/tmp/deskpool/debian-cloud.qcow2"
    }

    /// The programs of `seedTools`.
    public static let seedToolPaths = ["/usr/bin/mdir", "/usr/bin/mtype", "/usr/sbin/blkid", "/usr/sbin/fsck.fat", "/usr/bin/cloud-init"]

    /// Any non-empty `CI` is CI (`true`, `1`, `yes`, a CI system's own value): the real tiers
    /// must run there, never skip.
    public static var isCI: Bool {
        !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty
    }

    /// The tiny test guest image (`DESKPOOL_TINY_IMAGE`, default as scripts/test builds it).
    public static var tinyImagePath: String {
        ProcessInfo.processInfo.environment["DESKPOOL_TINY_IMAGE"] ?? "/var/tmp/deskpool/tiny-linux.qcow2"
    }

    /// Whether tests of this tier run in this process.
    public var isEnabled: Bool {
        switch self {
        case .pamWrapper:
            // Only a process started with the preload can run these; scripts/test runs a
            // second pass for them, so they are not forced on in CI.
            return ProcessInfo.processInfo.environment["PAM_WRAPPER"] == "1"
        case .realLibvirt, .realPAM, .tinyGuest, .viewer, .spiceTLS, .seedTools, .cloudGuest:
            return Self.isCI || isAvailable
        }
    }

    /// Whether the machine has what the tier needs, as far as can be seen without using it.
    public var isAvailable: Bool {
        switch self {
        case .realLibvirt:
            return FileManager.default.fileExists(atPath: "/run/libvirt/libvirt-sock")
        case .realPAM:
            return getuid() == 0 && FileManager.default.fileExists(atPath: RealPAMUsers.defaultFile)
        case .tinyGuest:
            return TestTier.realLibvirt.isAvailable && FileManager.default.fileExists(atPath: Self.tinyImagePath)
        case .pamWrapper:
            return ProcessInfo.processInfo.environment["PAM_WRAPPER"] == "1"
        case .seedTools:
            return Self.seedToolPaths.allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
        case .cloudGuest:
            return TestTier.realLibvirt.isAvailable && FileManager.default.fileExists(atPath: Self.cloudImagePath)
                && FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq")
        case .viewer:
            return TestTier.tinyGuest.isAvailable && VirtualDisplay.isAvailable && ScreenOCR.isAvailable
        case .spiceTLS:
            return TestTier.viewer.isAvailable && SpiceTLSRig.isActive
        }
    }

    /// Why tests of this tier are skipped here.
    public var skipReason: String {
        switch self {
        case .realLibvirt:
            "SKIPPED: no libvirtd at qemu:///system; run `scripts/libvirtd start` as root (CI runs this tier)"
        case .realPAM:
            "SKIPPED: needs root and real PAM users; run `scripts/pam-real-users create` as root (CI runs this tier)"
        case .tinyGuest:
            "SKIPPED: needs libvirtd and the tiny guest image at \(Self.tinyImagePath); run `templates/tiny-linux/build-image \(Self.tinyImagePath)` (CI runs this tier)"
        case .pamWrapper:
            "runs in the pam_wrapper pass of scripts/test (needs LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1)"
        case .viewer:
            "SKIPPED: needs the tiny guest, remote-viewer, Xvfb, ImageMagick and tesseract; run scripts/setup-host as root (CI runs this tier)"
        case .cloudGuest:
            "SKIPPED: needs libvirtd, dnsmasq-base and the Debian cloud-init image at \(Self.cloudImagePath); run `templates/debian-cloud/build-image \(Self.cloudImagePath)` (CI runs this tier)"
        case .seedTools:
            "SKIPPED: needs mtools, blkid, fsck.fat and cloud-init (\(Self.seedToolPaths.joined(separator: ", "))); run scripts/setup-host as root (CI runs this tier)"
        case .spiceTLS:
            "SKIPPED: needs SPICE TLS on libvirtd: scripts/spice-tls DIR, then restart libvirtd (scripts/test does both on a fresh machine; CI runs this tier)"
        }
    }

    /// Whether this host has /dev/kvm that cannot run Linux guests: KVM nested through
    /// kvm_pvm, where firmware runs but Linux stops with "KVM internal error".
    public static var kvmCannotRunLinuxGuests: Bool {
        let facts = HostFacts.virtualization()
        return facts.kvmDevicePresent && facts.kvmModules.contains("kvm_pvm")
    }
}
