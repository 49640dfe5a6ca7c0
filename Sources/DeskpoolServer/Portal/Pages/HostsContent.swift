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
        var owner: String
    }

    /// One piece of work shared by replicas, and who runs it.
    struct Work {
        var work: String
        var owner: String
    }

    var hosts: [Row]
    var hasHosts: Bool
    /// Several replicas on one store: the owner column and the work table are shown.
    var shared: Bool
    var replica: String
    var replicas: String
    var work: [Work]

    init(_ hosts: [HostView], replicas: ReplicasView) {
        let none = "none (taken over soon)"
        shared = replicas.replica != nil
        replica = replicas.replica ?? ""
        self.replicas = replicas.replicas.joined(separator: ", ")
        work = replicas.work.filter { !$0.work.hasPrefix("host/") }.map { Work(work: $0.work, owner: $0.owner ?? none) }
        self.hosts = hosts.map { host in
            Row(hostName: host.name, uri: host.uri, connected: host.connected, problem: host.error,
                freeMemory: host.freeMemoryMiB.map { "\($0) MiB" } ?? "—", freeDisk: host.freeDiskMiB.map { "\($0) MiB" } ?? "—",
                desktopCount: host.desktops, maxOperations: host.maxConcurrentOperations, owner: host.owner ?? none)
        }
        hasHosts = !hosts.isEmpty
    }
}
