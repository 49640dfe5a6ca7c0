import DeskpoolCore
import Foundation

struct PoolContent {
    struct DesktopRow {
        var id: String
        var desktopName: String
        var state: String
        var holder: String
        var host: String
        var version: Int
        var updated: Stamp
        var since: Stamp?
        var clientAddress: String
        var why: String
    }

    var poolName: String
    var template: String
    var version: String
    var assignment: String
    var min: Int
    var max: Int
    var spare: Int
    var maxPerUser: Int
    var naming: String
    var users: String
    var groups: String
    var hosts: String
    var disconnectTimeout: String
    var generation: Int
    var draining: Bool
    var capacity: CapacityContent
    var desktops: [DesktopRow]
    var sessions: [DesktopRow]
    var hasDesktops: Bool
    var hasSessions: Bool

    init(_ pool: PoolSpec, desktops: [Desktop]) {
        func list(_ names: [String], none: String) -> String { names.isEmpty ? none : names.joined(separator: ", ") }
        poolName = pool.name
        template = pool.template
        version = pool.version.description
        assignment = pool.assignment.rawValue
        min = pool.min
        max = pool.max
        spare = pool.spare
        maxPerUser = pool.maxPerUser
        naming = pool.naming.description
        users = list(pool.users, none: "none")
        groups = list(pool.groups, none: "none")
        hosts = list(pool.hosts, none: "any")
        disconnectTimeout = "\(pool.session.disconnectTimeoutSeconds) s"
        generation = pool.generation
        draining = pool.draining
        capacity = CapacityContent(PoolCapacity(desktops), max: pool.max)
        let rows = desktops.map { d in
            DesktopRow(id: d.id, desktopName: d.name, state: d.state.rawValue, holder: d.user ?? "—", host: d.host, version: d.version,
                       updated: Stamp(d.updatedAt), since: d.sessionStartedAt.map(Stamp.init), clientAddress: d.client ?? "—",
                       why: d.reason ?? "")
        }
        self.desktops = rows
        sessions = zip(desktops, rows).filter { $0.0.state.isInSession }.map(\.1)
        hasDesktops = !rows.isEmpty
        hasSessions = !sessions.isEmpty
    }
}
