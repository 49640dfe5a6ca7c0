import Foundation
import Logging

/// `deskpool serve` holds a descriptor per HTTP connection and two per gateway tunnel (4,000
/// idle consoles are over 30,000 tunnels): it raises its open-file limit to what its settings
/// can use, the soft limit up to the hard one, and as root the hard one too. What it could
/// not get is logged: the limits then refuse tunnels or connections before the system does.
enum DescriptorLimit {
    /// Descriptors the broker may need: tunnels, HTTP connections, and room for the store,
    /// libvirt, PAM and logs.
    static func needed(maxTunnels: Int, maxConnections: Int) -> Int { 2 * maxTunnels + maxConnections + 1024 }

    static func raise(to wanted: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let want = rlim_t(wanted)
        guard limit.rlim_cur < want else { return }
        var raised = limit
        if limit.rlim_max < want {
            raised.rlim_max = want  // allowed as root (up to fs.nr_open)
        }
        raised.rlim_cur = want
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) != 0 {
            // Not root, or above fs.nr_open: as far as the hard limit goes.
            raised = limit
            raised.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised)
        }
        _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < want {
            logger.warning("cannot raise the open-file limit to what the gateway and HTTP limits can use", metadata: [
                "wanted": "\(wanted)", "limit": "\(limit.rlim_cur)",
                "hint": "raise LimitNOFILE in the service unit, or lower gateway.maxTunnels",
            ])
        } else {
            logger.info("open-file limit raised", metadata: ["limit": "\(limit.rlim_cur)"])
        }
    }
}
