import DeskpoolCore
import Foundation

struct HostsContent {
    struct Row {
        var hostName: String
        var uri: String
        var connected: Bool
        var problem: String?
        var freeMemory: String
        var freeDisk: String
        var desktopCount: Int
        var maxOperations: Int
    }

    var hosts: [Row]
    var hasHosts: Bool

    init(_ hosts: [HostView]) {
        self.hosts = hosts.map { host in
            Row(hostName: host.name, uri: host.uri, connected: host.connected, problem: host.error,
                freeMemory: host.freeMemoryMiB.map { "\($0) MiB" } ?? "—", freeDisk: host.freeDiskMiB.map { "\($0) MiB" } ?? "—",
                desktopCount: host.desktops, maxOperations: host.maxConcurrentOperations)
        }
        hasHosts = !hosts.isEmpty
    }
}
