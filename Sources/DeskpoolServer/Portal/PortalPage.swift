import DeskpoolCore
import Foundation

// What the templates render. Mustache looks a name up through the enclosing objects when the
// current one lacks it (or holds nil), so row types use names of their own (`poolName`,
// `desktopName`, `holder`) and never shadow the page's (`viewer`, `csrfToken`).

/// One portal page: what the layout needs, and the page's own `content`.
struct PortalPage<Content> {
    var pageTitle: String
    var viewer: PortalViewer?
    /// The login session's CSRF token, for every form that changes something.
    var csrfToken: String
    var alertMessage: String?
    var onDesktops = false
    var onAdmin = false
    var adminTabs: AdminTabs?
    var assetVersion = ""
    var content: Content

    init(_ title: String, login: LoginSession?, alert: String? = nil, content: Content) {
        pageTitle = title
        viewer = login.map { PortalViewer(name: $0.user, admin: $0.admin) }
        csrfToken = login?.csrf ?? ""
        alertMessage = alert
        self.content = content
    }
}

/// Who is logged in, for the header.
struct PortalViewer {
    var name: String
    var admin: Bool
}

/// Which tab of the admin navigation is current.
struct AdminTabs {
    var pools = false
    var hosts = false
    var templates = false
    var audit = false
    var rollouts = false
    var policies = false
}

/// A time, for `<time datetime>` and for people.
struct Stamp {
    var iso: String
    var text: String

    init(_ date: Date) {
        iso = date.formatted(.iso8601)
        text = iso.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
    }
}

// MARK: - Login, errors

struct LoginContent {
    var loginToken: String
    var next: String?
    var user: String
}

struct ErrorContent {
    var heading: String
    var status: Int
    var backLink: String
    var backText: String
}

// MARK: - My desktops

struct DesktopsContent {
    struct Pool {
        var poolName: String
        var poolState: String
        var ready: Bool
        var hasDesktops: Bool
        var desktops: [Held]
    }

    struct Held {
        var id: String
        var desktopName: String
        var stateText: String
        var stateClass: String
        var canLogOff: Bool
    }

    var pools: [Pool]

    init(_ pools: [UserPoolView]) {
        self.pools = pools.map { pool in
            let state = pool.available > 0
                ? "\(pool.available) ready"
                : "none ready: about \(pool.estimateSeconds) s to prepare"
            let held = pool.desktops.map { desktop in
                let (text, style) = Self.describe(desktop.state, estimate: pool.estimateSeconds)
                return Held(id: desktop.id, desktopName: desktop.name, stateText: text, stateClass: style,
                            canLogOff: desktop.state.isInSession)
            }
            return Pool(poolName: pool.name, poolState: state, ready: pool.available > 0, hasDesktops: !held.isEmpty, desktops: held)
        }
    }

    /// A held desktop's state in a user's words, and its style.
    static func describe(_ state: DesktopState, estimate: Int) -> (String, String) {
        switch state {
        case .connected: ("in use", "inuse")
        case .assigned: ("ready", "ready")
        case .disconnected: ("ready (disconnected)", "disconnected")
        case .ready: ("ready", "ready")
        case .provisioning, .starting, .refreshing: ("preparing: about \(estimate) s", "preparing")
        case .restarting: ("restarting for an update", "preparing")
        case .off: ("off: starts when you connect", "off")
        case .stopping: ("shutting down", "stopping")
        case .deleting: ("being removed", "deleting")
        case .failed: ("failed: ask an administrator", "failed")
        }
    }
}

struct PreparingContent {
    var poolName: String
    var desktopName: String
    var estimateSeconds: Int
    var retryAfter: Int
}

// MARK: - Admin

/// A pool's desktops by state, for the stacked bar and its legend.
struct CapacityContent {
    struct Segment {
        var state: String
        var count: Int
        var x: String
        var width: String
    }

    var total: Int
    var ready: Int
    var assigned: Int
    var connected: Int
    var disconnected: Int
    var provisioning: Int
    var failed: Int
    /// The bar's full width: the pool's maximum, or more while it holds more.
    var limit: Int
    var segments: [Segment]

    init(_ capacity: PoolCapacity, max: Int) {
        total = capacity.total
        ready = capacity.ready
        assigned = capacity.assigned
        connected = capacity.connected
        disconnected = capacity.disconnected
        provisioning = capacity.provisioning
        failed = capacity.failed
        limit = Swift.max(max, capacity.total)
        let counts = [("ready", capacity.ready), ("assigned", capacity.assigned), ("connected", capacity.connected),
                      ("disconnected", capacity.disconnected), ("provisioning", capacity.provisioning),
                      ("failed", capacity.failed), ("other", capacity.other)]
        let scale = 100 / Double(Swift.max(limit, 1))
        var x = 0.0
        segments = counts.filter { $0.1 > 0 }.map { state, count in
            let width = Double(count) * scale
            defer { x += width }
            return Segment(state: state, count: count, x: Self.number(x), width: Self.number(width))
        }
    }

    static func number(_ value: Double) -> String { String(format: "%.2f", value) }
}

struct PoolsContent {
    struct Row {
        var poolName: String
        var template: String
        var version: String
        var assignment: String
        var min: Int
        var max: Int
        var spare: Int
        var draining: Bool
        var capacity: CapacityContent
    }

    var pools: [Row]
    var hasPools: Bool

    init(_ pools: [PoolSpec], desktops: [Desktop]) {
        self.pools = pools.map { pool in
            Row(poolName: pool.name, template: pool.template, version: pool.version.description, assignment: pool.assignment.rawValue,
                min: pool.min, max: pool.max, spare: pool.spare, draining: pool.draining,
                capacity: CapacityContent(PoolCapacity(desktops.filter { $0.pool == pool.name }), max: pool.max))
        }
        hasPools = !pools.isEmpty
    }
}

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

struct TemplatesContent {
    struct Template {
        var templateName: String
        var vcpus: Int
        var memoryMiB: Int
        var machine: String
        var bootTimeoutSeconds: Int
        var versions: [Version]
        var hasVersions: Bool
    }

    struct Version {
        var number: Int
        var note: String
        var created: Stamp
        var createdBy: String
        var published: Bool
    }

    var templates: [Template]

    init(_ templates: [TemplateView]) {
        self.templates = templates.map { t in
            let versions = t.versions.reversed().map { v in
                Version(number: v.number, note: v.note, created: Stamp(v.createdAt), createdBy: v.createdBy, published: v.published)
            }
            return Template(templateName: t.name, vcpus: t.vcpus, memoryMiB: t.memoryMiB, machine: t.machine,
                            bootTimeoutSeconds: t.bootTimeoutSeconds, versions: versions, hasVersions: !versions.isEmpty)
        }
    }
}

struct AuditContent {
    struct Entry {
        var entryID: String
        var at: Stamp
        var who: String
        var what: String
        var target: String
        var outcome: String
        var failed: Bool
        var detail: String
    }

    var subject: String
    var actor: String
    var action: String
    var limit: Int
    var entries: [Entry]
    var hasEntries: Bool
    var newestLink: String?
    var olderLink: String?

    init(_ query: AuditQuery, entries: [AuditEntry]) {
        subject = query.subject ?? ""
        actor = query.actor ?? ""
        action = query.action ?? ""
        limit = query.limit
        self.entries = entries.map { e in
            Entry(entryID: e.id.map(String.init) ?? "", at: Stamp(e.at), who: e.actor, what: e.action, target: e.subject,
                  outcome: e.result, failed: e.result != "ok", detail: e.detail)
        }
        hasEntries = !entries.isEmpty
        if query.before != nil {
            newestLink = "/admin/audit" + Self.queryString(query, before: nil)
        }
        if entries.count == query.limit, let last = entries.last?.id {
            olderLink = "/admin/audit" + Self.queryString(query, before: last)
        }
    }

    /// What a query value keeps unencoded (`admin:root`, `pool/eng`, `desktop.state`).
    static let plain = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~:/"))

    /// The filters and page size, with `before` when given, as a URL query.
    static func queryString(_ query: AuditQuery, before: Int64?) -> String {
        var parts: [String] = []
        for (key, value) in [("subject", query.subject), ("actor", query.actor), ("action", query.action)] {
            if let value, !value.isEmpty { parts.append("\(key)=\(value.addingPercentEncoding(withAllowedCharacters: Self.plain) ?? "")") }
        }
        if query.limit != AuditQuery().limit { parts.append("limit=\(query.limit)") }
        if let before { parts.append("before=\(before)") }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }
}
