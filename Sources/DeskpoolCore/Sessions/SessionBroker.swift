public import Foundation

/// Hands desktops to users: checks entitlement, gives a user back the desktop they hold,
/// otherwise claims a ready one atomically, or reserves a new one ("preparing", with an
/// estimate) while the pool is below its max, or says the pool is exhausted. At logoff,
/// floating desktops are refreshed and dedicated ones stay with their user.
public struct SessionBroker: Sendable {
    /// Who asks: a user name and their groups (from PAM and the user database).
    public struct Principal: Sendable, Hashable, Codable {
        public var user: String
        public var groups: [String]
        /// The PAM services the user passed in this login: the login's, and each further factor a
        /// pool asked for (`PoolSpec.factor`).
        public var factors: [String]
        public init(user: String, groups: [String] = [], factors: [String] = []) {
            self.user = user
            self.groups = groups
            self.factors = factors
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            user = try container.decode(String.self, forKey: .user)
            groups = try container.decode([String].self, forKey: .groups)
            // Logins recorded before further factors existed passed none.
            factors = try container.decodeIfPresent([String].self, forKey: .factors) ?? []
        }
    }

    public enum Answer: Sendable, Hashable {
        /// The desktop is the user's and running.
        case assigned(Desktop)
        /// A desktop is being prepared for the user; ask again in about `estimateSeconds`.
        case preparing(Desktop, estimateSeconds: Int)
        /// The pool is at its max and nothing is free.
        case exhausted
    }

    let store: any Store
    let placement: @Sendable (PoolSpec) async -> String?
    let estimator: ReadyEstimator
    let onNewDesktop: @Sendable () -> Void
    let revokeConsole: @Sendable (Desktop) async -> Void
    let hosts: @Sendable () -> [String: Bool]?
    let now: @Sendable () -> Date

    /// - Parameters:
    ///   - placement: the host for a desktop the broker reserves for a user (nil: none has room).
    ///   - onNewDesktop: called after a desktop is reserved, to wake the reconciler.
    ///   - revokeConsole: called when a session ends on a desktop that stays as it is, to drop
    ///     its console client and void its ticket (`ConsoleBroker.revoke`).
    ///   - hosts: whether each host is connected now (nil: all are); a ready desktop on a host
    ///     that is away is not handed out, since its console could not be opened.
    public init(store: any Store, estimator: ReadyEstimator, placement: @escaping @Sendable (PoolSpec) async -> String?,
                onNewDesktop: @escaping @Sendable () -> Void = {}, revokeConsole: @escaping @Sendable (Desktop) async -> Void = { _ in },
                hosts: @escaping @Sendable () -> [String: Bool]? = { nil }, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.estimator = estimator
        self.placement = placement
        self.onNewDesktop = onNewDesktop
        self.revokeConsole = revokeConsole
        self.hosts = hosts
        self.now = now
    }

    /// Gives the user a desktop of the pool: the one they hold, if any; with `another`, one
    /// more, up to the pool's `maxPerUser`.
    public func request(_ principal: Principal, pool name: String, another: Bool = false) async throws(DeskpoolError) -> Answer {
        try await decide(principal, pool: name, another: another).answer
    }

    /// `request`, with the pool as it was read (so that the console needs no second read).
    func decide(_ principal: Principal, pool name: String, another: Bool) async throws(DeskpoolError) -> (answer: Answer, pool: PoolSpec) {
        // The pool and the user's desktops in one read: what most requests need, all at once.
        guard let (pool, theirs) = try await store.pool(named: name, withDesktopsOf: principal.user) else {
            throw DeskpoolError(.notFound, "no pool named \(name)", field: "pool")
        }
        guard pool.entitles(user: principal.user, groups: principal.groups) else {
            throw DeskpoolError(.notEntitled, "\(principal.user) is not entitled to pool \(name)", field: "pool")
        }
        guard !pool.draining else { throw DeskpoolError(.conflict, "pool \(name) is being deleted", field: "pool") }
        if let factor = pool.factor, !principal.factors.contains(factor) {
            throw DeskpoolError(.factorRequired, "pool \(name) asks for a further login (PAM service \(factor)) before it hands out a desktop",
                                field: "pool")
        }
        var desktops: [Desktop]? = theirs
        for _ in 0..<20 {
            // After a lost race (a claim or a name taken meanwhile), read them again.
            let current: [Desktop]
            if let desktops { current = desktops } else { current = try await store.desktops(pool: name, user: principal.user) }
            desktops = nil
            let held = current.filter { $0.state != .failed && $0.state != .deleting }
            if var first = held.first, !another {
                if first.state == .off {
                    guard let started = try await restart(first, for: principal.user) else { continue }
                    first = started
                }
                return (first.state.isInSession ? .assigned(first) : .preparing(first, estimateSeconds: estimator.estimate(pool: name)), pool)
            }
            guard held.count < pool.maxPerUser else {
                throw DeskpoolError(.conflict, "\(principal.user) already holds \(held.count) desktop(s) of pool \(name), its maxPerUser", field: "pool")
            }
            let connected = hosts().map { Set($0.filter(\.value).keys) }
            if let claimed = try await store.claimReady(pool: name, user: principal.user, actor: principal.user, onHosts: connected) {
                return (.assigned(claimed), pool)
            }
            // Saved spares, where the pool keeps any (one more read on this path otherwise).
            if pool.savedSpare > 0 || pool.schedule.contains(where: { ($0.saved ?? 0) > 0 }),
               let resumed = try await claimSaved(pool: name, user: principal.user, onHosts: connected) {
                return (.preparing(resumed, estimateSeconds: estimator.estimate(pool: name)), pool)
            }
            switch try await reserve(pool, for: principal.user, taken: Set(try await store.desktops(pool: nil).map(\.name))) {
            case .reserved(let answer): return (answer, pool)
            case .full: return (.exhausted, pool)
            case .nameTaken: continue
            }
        }
        throw DeskpoolError(.conflict, "the pool changed too often while choosing a desktop; try again", field: "pool")
    }

    /// Claims a spare saved to disk, if the pool has one on a connected host: it is the user's
    /// at once and resumes (no boot); the session starts when it runs. Nil when there is none
    /// (or others took them all meanwhile).
    private func claimSaved(pool: String, user: String, onHosts hosts: Set<String>?) async throws(DeskpoolError) -> Desktop? {
        let saved = try await store.desktops(pool: pool).filter { $0.state == .saved && hosts?.contains($0.host) != false }
        // Users arriving at once try them in different orders (the same order would have them
        // all race for the first, and lose to each other while spares wait).
        for desktop in saved.shuffled().prefix(32) {
            if let claimed = try await store.transition(desktop.id, .claimed(user: user, session: .new(at: now())), actor: user) {
                onNewDesktop()
                return claimed
            }
        }
        return nil
    }

    /// Starts a dedicated desktop that was shut down at logoff: a new session begins when it is up.
    private func restart(_ desktop: Desktop, for user: String) async throws(DeskpoolError) -> Desktop? {
        let started = try await store.transition(desktop.id, .woken(session: .new(at: now())), actor: user)
        if started != nil { onNewDesktop() }
        return started
    }

    private enum Reservation {
        case reserved(Answer)
        /// At max, or no host has room.
        case full
        /// Another request took the chosen name: choose again.
        case nameTaken
    }

    /// Inserts a provisioning desktop reserved for the user if the pool is below max.
    private func reserve(_ pool: PoolSpec, for user: String, taken: Set<String>) async throws(DeskpoolError) -> Reservation {
        guard let host = await placement(pool) else {
            // No room may only mean that the pool's hosts are away: say so, and when to ask again.
            let away = Set((hosts() ?? [:]).filter { !$0.value }.keys)
            if !away.isEmpty, pool.hosts.isEmpty || !away.isDisjoint(with: pool.hosts) {
                throw DeskpoolError(.hypervisorUnavailable, "pool \(pool.name) has no desktop ready on a connected host, and its host(s) \(away.sorted().joined(separator: ", ")) are unavailable now; try again shortly",
                                    field: "pool", retryAfterSeconds: 5)
            }
            return .full
        }
        let versions = try await store.versions(template: pool.template)
        let version: TemplateVersion
        switch pool.currentVersion(among: versions) {
        case .success(let v): version = v
        case .failure(let error): throw error
        }
        // Concurrent requests pick among the lowest free names at random, so they rarely collide.
        let name = pool.naming.freeNames(8, excluding: taken).randomElement()!
        var desktop = Desktop(name: name, pool: pool.name, host: host, template: pool.template, version: version.number,
                              user: user, generation: pool.generation, createdAt: now())
        desktop.begin(.new(at: now()))  // the session's start moves to when the desktop is ready
        do {
            // The max that holds now (a schedule entry's, if one does).
            guard try await store.insertDesktop(desktop, actor: user, limit: pool.scheduled(at: now()).max) else { return .full }
        } catch where error.code == .alreadyExists {
            return .nameTaken
        }
        onNewDesktop()
        return .reserved(.preparing(desktop, estimateSeconds: estimator.estimate(pool: pool.name)))
    }

    /// Ends the user's session on a desktop with its pool's logoff action: refresh (a floating
    /// desktop goes back to the pool, a dedicated one to its user, cloned afresh), keep (a
    /// dedicated desktop stays its user's as it is; its console is revoked) or shutdown (a
    /// dedicated desktop is shut down, and started again at its user's next request).
    @discardableResult
    public func logoff(desktop id: String, by actor: String, reason: String? = nil) async throws(DeskpoolError) -> Desktop {
        guard let desktop = try await store.desktop(id: id) else { throw DeskpoolError(.notFound, "no desktop \(id)", field: "desktop") }
        return try await logoff(desktop, by: actor, reason: reason)
    }

    /// `logoff` of a desktop as the caller has just read it.
    @discardableResult
    func logoff(_ desktop: Desktop, by actor: String, reason: String?) async throws(DeskpoolError) -> Desktop {
        let id = desktop.id
        guard let pool = try await store.pool(named: desktop.pool) else { throw DeskpoolError(.notFound, "no pool \(desktop.pool)", field: "pool") }
        // A draining pool's desktops are refreshed, and so given up, whatever the pool's action.
        // So are desktops a rollout has marked for a new version (`targetVersion`).
        let action = pool.draining || desktop.targetVersion != nil ? .refresh : pool.session.action(for: pool.assignment)
        let floating = pool.assignment == .floating || pool.draining
        let changed = try await store.transition(id, .loggedOff(action: action, floating: floating, reason: reason), actor: actor)
        guard let changed else { throw DeskpoolError(.conflict, "desktop \(desktop.name) is \(desktop.state.rawValue), not in a session", field: "desktop") }
        // The reconciler refreshes or shuts the desktop down; a kept one only loses its console.
        if action == .keep { await revokeConsole(changed) } else { onNewDesktop() }
        return changed
    }
}
