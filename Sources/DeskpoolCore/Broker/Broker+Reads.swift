public import Foundation

/// The read side: what the portal, the API and the CLI show, so that they hold no store
/// queries of their own.
extension Broker {
    /// Which desktops to list: every condition given must hold.
    public struct DesktopFilter: Sendable, Hashable {
        public var pool: String?
        public var state: DesktopState?
        public var user: String?
        public var host: String?
        /// Only desktops in a user's session.
        public var inSession: Bool

        public init(pool: String? = nil, state: DesktopState? = nil, user: String? = nil, host: String? = nil, inSession: Bool = false) {
            self.pool = pool
            self.state = state
            self.user = user
            self.host = host
            self.inSession = inSession
        }

        func matches(_ d: Desktop) -> Bool {
            (state.map { d.state == $0 } ?? true) && (user.map { d.user == $0 } ?? true) && (host.map { d.host == $0 } ?? true)
                && (!inSession || d.state.isInSession)
        }
    }

    /// The pools `principal` is entitled to (draining ones aside), with what is ready and
    /// what they hold.
    public func pools(for principal: SessionBroker.Principal) async throws(DeskpoolError) -> [UserPoolView] {
        let pools = try await store.pools().filter { $0.entitles(user: principal.user, groups: principal.groups) && !$0.draining }
        let all = try await store.desktops(pool: nil)
        return pools.map { pool in
            let desktops = all.filter { $0.pool == pool.name }
            return UserPoolView(
                name: pool.name, assignment: pool.assignment,
                // Saved spares are a request away too (resumed in seconds).
                available: desktops.filter { ($0.state == .ready || $0.state == .saved) && $0.user == nil }.count,
                estimateSeconds: estimator.estimate(pool: pool.name),
                desktops: desktops.filter { $0.user == principal.user && $0.state != .deleting }.map(DesktopView.init),
                browserConsole: consoles.offersBrowser(pool),
                factorRequired: pool.factor.map { !principal.factors.contains($0) } ?? false)
        }
    }

    /// Desktops matching `filter`, by name.
    public func desktops(_ filter: DesktopFilter) async throws(DeskpoolError) -> [Desktop] {
        try await store.desktops(pool: filter.pool).filter(filter.matches)
    }

    /// The user's desktops in session.
    public func sessions(of user: String) async throws(DeskpoolError) -> [Desktop] {
        try await desktops(DesktopFilter(user: user, inSession: true))
    }

    /// Every configured host: reachable or not, its link, and its free memory and disk.
    public func hostViews() async throws(DeskpoolError) -> [HostView] {
        let desktops = try await store.desktops(pool: nil)
        let owners = leases == nil ? [:] : Dictionary(try await store.leases().filter(\.live).map { ($0.name, $0.holder) }, uniquingKeysWith: { a, _ in a })
        var views: [HostView] = []
        for host in hosts.configured {
            var view = HostView(name: host.name, uri: host.uri, connected: false, desktops: desktops.filter { $0.host == host.name }.count,
                                maxConcurrentOperations: host.maxConcurrentOperations)
            view.owner = owners[Lease.Work.host(host.name).description]
            guard let hypervisor = hosts[host.name] else {
                view.error = "not connected"
                views.append(view)
                continue
            }
            let status = hypervisor.status
            view.link = status
            guard status.isConnected else {
                view.error = "\(status.state.rawValue): \(status.lastError ?? "not connected"); the broker reconnects by itself"
                views.append(view)
                continue
            }
            do {
                let capacity = try await hypervisor.capacity()
                view.connected = true
                view.freeMemoryMiB = capacity.freeMemoryMiB
                view.freeDiskMiB = capacity.freeDiskMiB
            } catch {
                // Our own words (a missing storage pool) are shown; libvirt's text stays in the log.
                view.error = error.code == .notFound ? error.message : "does not answer: \(error.code)"
            }
            views.append(view)
        }
        return views
    }

    /// Which replica runs what: empty when the broker is alone on its store.
    public func replicasView() async throws(DeskpoolError) -> ReplicasView {
        guard let leases else { return ReplicasView(replica: nil, replicas: [], work: []) }
        let all = try await store.leases()
        let live = Dictionary(all.filter(\.live).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let work = (hosts.configured.map { Lease.Work.host($0.name) } + [.pools, .rollouts]).map { work in
            let lease = live[work.description]
            return WorkOwner(work: work.description, owner: lease?.holder, generation: lease?.generation, expiresAt: lease?.expiresAt)
        }
        let replicas = all.filter { $0.live && $0.name.hasPrefix("replica/") }.map(\.holder).sorted()
        return ReplicasView(replica: leases.replica, replicas: replicas, work: work)
    }

    /// A rollout with its items, or `.notFound`.
    public func rolloutView(id: String) async throws(DeskpoolError) -> RolloutView {
        guard let rollout = try await store.rollout(id: id) else {
            throw DeskpoolError(.notFound, "no rollout \(id)", field: "id")
        }
        return RolloutView(rollout: rollout, items: try await store.rolloutItems(rollout: id))
    }

    /// The newest rollouts (only those not over, with `active`) with their items.
    public func rolloutViews(active: Bool, limit: Int = 100) async throws(DeskpoolError) -> [RolloutView] {
        var views: [RolloutView] = []
        for rollout in try await store.rollouts(active: active, limit: limit) {
            views.append(RolloutView(rollout: rollout, items: try await store.rolloutItems(rollout: rollout.id)))
        }
        return views
    }
}

/// The rest of what the HTTP layer reads or records: it holds no store of its own.
extension Broker {
    public func pools() async throws(DeskpoolError) -> [PoolSpec] { try await store.pools() }
    public func pool(named name: String) async throws(DeskpoolError) -> PoolSpec? { try await store.pool(named: name) }
    /// Desktops of one pool, or of all pools, by name.
    public func desktops(pool: String?) async throws(DeskpoolError) -> [Desktop] { try await store.desktops(pool: pool) }
    public func templates() async throws(DeskpoolError) -> [TemplateDefinition] { try await store.templates() }
    public func template(named name: String) async throws(DeskpoolError) -> TemplateDefinition? { try await store.template(named: name) }
    public func versions(template: String) async throws(DeskpoolError) -> [TemplateVersion] { try await store.versions(template: template) }
    /// Audit entries matching the query, newest first.
    public func auditLog(_ query: AuditQuery) async throws(DeskpoolError) -> [AuditEntry] { try await store.auditLog(query) }
    /// The usage history's sessions matching `query`.
    public func usage(_ query: UsageQuery) async throws(DeskpoolError) -> [UsageRecord] { try await store.usage(query) }
    /// A pool's capacity samples in a period (at most 30,000: 100 days of one every 5 minutes).
    public func capacitySamples(pool: String, from: Date, to: Date) async throws(DeskpoolError) -> [CapacitySample] {
        try await store.capacitySamples(pool: pool, from: from, to: to, limit: 30_000)
    }
    /// Records what happened at the edge (logins, logouts, unlocks) in the audit log.
    public func audit(_ entry: AuditEntry) async throws(DeskpoolError) { try await store.audit(entry) }
    /// Proves the store takes writes now (for `/readyz`).
    public func probeStore(at date: Date) async throws(DeskpoolError) { try await store.probeWrite(at: date) }
}
