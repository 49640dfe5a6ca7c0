public import DeskpoolCore
import Foundation

/// Reads facts about the local host from /proc, /sys and /dev (an adapter, beside
/// `HostInspector`; the verdicts on them are pure, in Core: `VirtualizationFacts`, `DoctorRules`).
public enum HostFacts {
    /// KVM facts of this host.
    public static func virtualization() -> VirtualizationFacts {
        let flags = cpuFlags().intersection(["vmx", "svm", "hypervisor"])
        // /sys/module lists every loaded module (and built-in ones with parameters).
        let modules = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/module")) ?? []
        let kvmModules = Set(modules.filter { $0.hasPrefix("kvm") })
        let present = FileManager.default.fileExists(atPath: "/dev/kvm")
        let accessible = present && access("/dev/kvm", R_OK | W_OK) == 0
        return VirtualizationFacts(kvmDevicePresent: present, kvmDeviceAccessible: accessible,
                                   cpuFlags: flags, kvmModules: kvmModules)
    }

    /// The acceleration guests get on this host, honouring an override
    /// (`DESKPOOL_ACCELERATION=kvm|tcg`).
    public static func acceleration() -> Acceleration {
        if let forced = ProcessInfo.processInfo.environment["DESKPOOL_ACCELERATION"].flatMap(Acceleration.init(rawValue:)) {
            return forced
        }
        return virtualization().verdict.acceleration
    }

    /// `MemAvailable` from /proc/meminfo, in bytes.
    public static func availableMemoryBytes() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = UInt64(fields[1]) { return kib * 1024 }
        }
        return nil
    }

    /// Free bytes for an unprivileged user on the file system holding `path` (or its nearest
    /// existing parent).
    public static func availableDiskBytes(at path: String) -> UInt64? {
        var url = URL(fileURLWithPath: path)
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        var stats = statvfs()
        guard statvfs(url.path, &stats) == 0 else { return nil }
        return UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
    }

    private static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            if let colon = line.firstIndex(of: ":") {
                return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
            }
        }
        return []
    }
}
