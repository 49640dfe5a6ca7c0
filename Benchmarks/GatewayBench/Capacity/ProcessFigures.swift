import Foundation
import Glibc

/// What the process holds, from /proc, and its descriptor limit.
enum ProcessFigures {
    /// Resident memory (VmRSS), KiB.
    static func residentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    }

    /// Open descriptors: the entries of /proc/self/fd, without the one reading it.
    static func openDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { count += 1 }
        }
        return count - 1
    }

    /// The kernel's socket buffer memory for TCP, all processes (/proc/net/sockstat), KiB.
    static func kernelTCPBuffersKiB() -> Int? {
        let sockstat = (try? String(contentsOfFile: "/proc/net/sockstat", encoding: .utf8)) ?? ""
        guard let line = sockstat.split(separator: "\n").first(where: { $0.hasPrefix("TCP:") }) else { return nil }
        let words = line.split(separator: " ")
        guard let index = words.firstIndex(of: "mem"), index + 1 < words.count, let pages = Int(words[index + 1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    }

    /// RLIMIT_NOFILE's soft and hard limits.
    static func descriptorLimit() throws -> rlimit {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            throw BenchFailure("getrlimit: \(String(cString: strerror(errno)))")
        }
        return limit
    }

    /// Raises RLIMIT_NOFILE's soft limit to `needed`, and the hard limit too when it is lower
    /// (which takes CAP_SYS_RESOURCE: root, unless a container dropped it); says what it set,
    /// or nil when it cannot.
    static func raiseDescriptorLimit(to needed: Int) throws -> String? {
        let before = try descriptorLimit()
        if before.rlim_cur >= rlim_t(needed) {
            return "RLIMIT_NOFILE: soft \(before.rlim_cur), hard \(before.rlim_max): enough for \(needed), left as is"
        }
        var limit = before
        limit.rlim_cur = rlim_t(needed)
        limit.rlim_max = max(limit.rlim_max, rlim_t(needed))
        guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return "RLIMIT_NOFILE: soft \(before.rlim_cur) -> \(limit.rlim_cur), hard \(before.rlim_max) -> \(limit.rlim_max)"
    }
}
