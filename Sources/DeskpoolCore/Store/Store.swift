public import Foundation

/// The broker's persistent intent: templates and versions, pools, desktops with their
/// assignments, and the audit log. SQLite (`SQLiteStore`) is the embedded default, PostgreSQL
/// (`PostgresStore`) the shared one; every implementation passes
/// `StoreConformance`.
///
/// Desktop changes are compare-and-set (`transition(_:from:...)`) so two requests, or two
/// broker replicas, never both win; every state change and admin action is appended to the
/// audit log in the same transaction.
///
/// A write made under a `LeaseFence` (`LeaseFence.current`) first checks, in its transaction,
/// that the lease still has the fence's generation, and throws `leaseLost` otherwise.
public protocol Store: Sendable {
    // MARK: Templates and versions
    func putTemplate(_ template: TemplateDefinition, actor: String) async throws(DeskpoolError)
    func template(named name: String) async throws(DeskpoolError) -> TemplateDefinition?
    func templates() async throws(DeskpoolError) -> [TemplateDefinition]
    /// Records the intent to publish the next version (one past the highest ever used; numbers
    /// are never reused), unpublished until `publishVersion`.
    func beginVersion(template: String, note: String, actor: String) async throws(DeskpoolError) -> TemplateVersion
    func publishVersion(template: String, number: Int, actor: String) async throws(DeskpoolError)
    /// Published and unpublished versions, oldest first.
    func versions(template: String) async throws(DeskpoolError) -> [TemplateVersion]
    /// Deletes a version's record. Refused with `.versionInUse` while any desktop uses it or a
    /// pool pins it.
    func deleteVersion(template: String, number: Int, actor: String) async throws(DeskpoolError)

    // MARK: Pools
    /// Creates or replaces a pool; the generation goes up by one when the spec changes.
    @discardableResult
    func putPool(_ spec: PoolSpec, actor: String) async throws(DeskpoolError) -> PoolSpec
    func pool(named name: String) async throws(DeskpoolError) -> PoolSpec?
    func pools() async throws(DeskpoolError) -> [PoolSpec]
    /// Marks a pool for deletion (`draining`): it takes no new sessions and shrinks to nothing.
    func drainPool(named name: String, actor: String) async throws(DeskpoolError) -> PoolSpec
    /// Deletes a draining pool that has no desktop records left; false otherwise.
    func deleteDrainedPool(named name: String, actor: String) async throws(DeskpoolError) -> Bool

    // MARK: Desktops
    /// Inserts a desktop record. With `limit`, inserts only if the pool holds fewer than `limit`
    /// desktops (in any state but `deleting`) and returns false otherwise. A taken name throws
    /// `.alreadyExists`.
    func insertDesktop(_ desktop: Desktop, actor: String, limit: Int?) async throws(DeskpoolError) -> Bool
    func desktop(id: String) async throws(DeskpoolError) -> Desktop?
    /// The desktop with this (domain) name.
    func desktop(named name: String) async throws(DeskpoolError) -> Desktop?
    /// Desktops of one pool, or of all pools, and (with `user`) only that user's, ordered by
    /// name. A user's request reads only the user's desktops, however large the pool.
    func desktops(pool: String?, user: String?) async throws(DeskpoolError) -> [Desktop]
    /// Applies `event` to the desktop by `DesktopLifecycle` (the only way a record changes after
    /// its creation), if it is still in one of `expecting` (nil: any state the lifecycle
    /// allows); returns the new record, or nil if the desktop is gone, has moved on, or the
    /// lifecycle refuses the event. Stamps `updatedAt`; audits a state change.
    func transition(_ id: String, _ event: DesktopEvent, expecting: Set<DesktopState>?, actor: String) async throws(DeskpoolError) -> Desktop?
    /// Atomically assigns one ready desktop of the pool to `user` (oldest ready first), among
    /// those on `hosts` (nil: any host): a desktop on a host that is away is not handed out.
    /// The change is `DesktopEvent.claimed` with a new session.
    func claimReady(pool: String, user: String, actor: String, onHosts hosts: Set<String>?) async throws(DeskpoolError) -> Desktop?
    /// A pool and `user`'s desktops of it, in one read (what a desktop request starts from);
    /// nil when there is no such pool.
    func pool(named name: String, withDesktopsOf user: String) async throws(DeskpoolError) -> (pool: PoolSpec, desktops: [Desktop])?
    /// Removes the record (after its domain and volume are gone).
    func deleteDesktop(id: String, actor: String) async throws(DeskpoolError)

    // MARK: Rollouts
    /// Records a new rollout with its items, and stores the new specs of the pools it changes,
    /// in one transaction, audited as `rollout.create` (and `pool.put`). Each spec in `pools`
    /// carries the generation it gets: refused with `.conflict` (nothing stored) unless the
    /// pool is still at the generation before it (so no one changed it since it was read).
    func createRollout(_ rollout: Rollout, items: [RolloutItem], pools: [PoolSpec], actor: String) async throws(DeskpoolError)
    func rollout(id: String) async throws(DeskpoolError) -> Rollout?
    /// Rollouts in one of `states` (nil: any), newest first.
    func rollouts(in states: Set<Rollout.State>?, limit: Int) async throws(DeskpoolError) -> [Rollout]
    /// A rollout's items in rollout order.
    func rolloutItems(rollout id: String) async throws(DeskpoolError) -> [RolloutItem]
    /// Applies `change` if the rollout is in one of `from`; returns the new record or nil.
    /// A state change is audited (`rollout.state`).
    func updateRollout(_ id: String, from: Set<Rollout.State>, actor: String, change: @escaping @Sendable (inout Rollout) -> Void) async throws(DeskpoolError) -> Rollout?
    /// Applies the updates in order, in one transaction (a wave's worth of desktops is one
    /// commit, not one each): an update's desktop change, if any, as `transition` makes it,
    /// then its item change if the item is in one of its `from`. Returns each new item, or nil
    /// for an item that is gone or in another status. A status change is audited
    /// (`rollout.desktop`).
    func updateRolloutItems(rollout id: String, _ updates: [RolloutItemUpdate], actor: String) async throws(DeskpoolError) -> [RolloutItem?]

    // MARK: Logins
    /// Records an API or portal login under its token's hash (`key`); the token is never stored.
    func putLogin(_ login: LoginSession, key: String) async throws(DeskpoolError)
    /// The login with this key, live or not; nil when there is none.
    func login(key: String) async throws(DeskpoolError) -> LoginSession?
    /// Marks the login used at `at` (its idle time starts again); nothing when it is gone.
    func touchLogin(key: String, at: Date) async throws(DeskpoolError)
    /// Ends the login (logout, or found expired); nothing when it is gone.
    func deleteLogin(key: String) async throws(DeskpoolError)
    /// Forgets logins past their maximum age at `expiredBy`, or last used before `idleSince`;
    /// returns how many.
    func deleteLogins(expiredBy: Date, idleSince: Date) async throws(DeskpoolError) -> Int
    /// Logins live at `liveAt` and used since `idleSince`.
    func loginCount(liveAt: Date, idleSince: Date) async throws(DeskpoolError) -> Int

    /// Replaces the record of a live login (a further factor it passed); false when it is gone.
    func replaceLogin(_ login: LoginSession, key: String) async throws(DeskpoolError) -> Bool

    // MARK: Login challenges (PAM conversations waiting for their user)
    /// Records a new challenge (its key is new).
    func putChallenge(_ challenge: LoginChallenge) async throws(DeskpoolError)
    /// Marks the challenge answered at `at`, with `answers` (sealed, for its owner; nil when the
    /// owner itself was answered), once: nil when there is no such challenge, it expired by
    /// `at` (`expiresAt <= at`), or it was answered already. Returns the challenge as it is now.
    func answerChallenge(key: String, at: Date, answers: [UInt8]?) async throws(DeskpoolError) -> LoginChallenge?
    /// The answered challenges of `owner` whose relayed answers wait: each is returned once,
    /// its answers cleared in the store in the same transaction.
    func takeChallengeAnswers(owner: String) async throws(DeskpoolError) -> [LoginChallenge]
    /// Records the outcome of a challenge's relayed answers (nothing when it is gone).
    func putChallengeOutcome(key: String, outcome: [UInt8]) async throws(DeskpoolError)
    /// The challenge with this key, expired or not; nil when there is none.
    func challenge(key: String) async throws(DeskpoolError) -> LoginChallenge?
    /// Forgets a challenge (nothing when it is gone).
    func deleteChallenge(key: String) async throws(DeskpoolError)
    /// Forgets the challenges that expired at or before `before`; returns how many.
    @discardableResult
    func deleteChallenges(expiredBy before: Date) async throws(DeskpoolError) -> Int

    // MARK: Failed logins, counted for every broker
    /// Counts a failed login against each key at `at` (a count whose last failure is `window`
    /// or more before starts again at 1); returns each key's count now.
    func recordLoginFailure(keys: [LoginThrottle.Key], at: Date, window: TimeInterval) async throws(DeskpoolError) -> [LoginFailures]
    /// The counts of these keys (none for a key without failures).
    func loginFailures(keys: [LoginThrottle.Key]) async throws(DeskpoolError) -> [LoginFailures]
    /// Every count with a failure since `since` (for the admin's list of locks).
    func loginFailures(since: Date) async throws(DeskpoolError) -> [LoginFailures]
    /// Forgets counts: a success's keys (`keys`), or an admin's unlock (`user` and/or
    /// `address`, as `LoginThrottle.unlock`), and any older than `before`; returns how many.
    @discardableResult
    func clearLoginFailures(keys: [LoginThrottle.Key], user: String?, address: String?, before: Date?) async throws(DeskpoolError) -> Int

    // MARK: Usage history
    /// The usage records matching `query` (pool, user, overlapping its period), oldest request
    /// first, at most `query.limit`. Records are written by the desktop changes themselves
    /// (`insertDesktop`, `transition`, `claimReady`, `deleteDesktop`, rollout updates) through
    /// `UsageLedger`, in the same transaction.
    func usage(_ query: UsageQuery) async throws(DeskpoolError) -> [UsageRecord]
    /// Forgets the records of sessions that ended before `before`; returns how many.
    @discardableResult
    func deleteUsage(endedBefore before: Date) async throws(DeskpoolError) -> Int
    /// Records when the session's first console ticket was issued (a later one changes nothing;
    /// an unknown session, nothing).
    func noteUsageTicket(session: String, at: Date) async throws(DeskpoolError)
    /// Records pools' capacity samples, in one transaction; a sample of the same pool and time
    /// replaces the one recorded.
    func recordCapacity(_ samples: [CapacitySample]) async throws(DeskpoolError)
    /// The pool's samples taken in `from` ..< `to`, oldest first (at most `limit`).
    func capacitySamples(pool: String, from: Date, to: Date, limit: Int) async throws(DeskpoolError) -> [CapacitySample]
    /// Forgets the samples taken before `before`; returns how many.
    @discardableResult
    func deleteCapacitySamples(before: Date) async throws(DeskpoolError) -> Int

    // MARK: Secrets shared by the brokers
    /// The secret named `name` (the console-token key), made from `create` and kept by the
    /// first broker that asks; every broker on the store gets the same bytes.
    func secret(named name: String, orCreate create: @Sendable () -> [UInt8]) async throws(DeskpoolError) -> [UInt8]

    // MARK: Leases (work shared by replicas)
    /// Takes or renews the lease `name` for `holder` for `duration` by the store's clock:
    /// renewed (same generation) when `holder` holds it at `generation`; taken (generation one
    /// more) when no one holds it or it expired; nil when another holder's lease runs.
    func takeLease(_ name: String, holder: String, renewing generation: Int64?, for duration: Duration) async throws(DeskpoolError) -> Lease?
    /// Ends `holder`'s lease at `generation` now (another replica may take it at once);
    /// nothing when it moved on.
    func releaseLease(_ name: String, holder: String, generation: Int64) async throws(DeskpoolError)
    /// Every lease, by name, with whether it runs by the store's clock.
    func leases() async throws(DeskpoolError) -> [Lease]

    // MARK: Readiness
    /// Proves the store takes writes now: one small write that commits (a full disk, a
    /// read-only file or a lost database throws `storeFailed`). For `/readyz`.
    func probeWrite(at: Date) async throws(DeskpoolError)

    // MARK: Audit
    func audit(_ entry: AuditEntry) async throws(DeskpoolError)
    /// Entries matching the query, newest first.
    func auditLog(_ query: AuditQuery) async throws(DeskpoolError) -> [AuditEntry]
}

extension Store {
    /// Desktops of one pool, or of all pools, ordered by name.
    public func desktops(pool: String?) async throws(DeskpoolError) -> [Desktop] {
        try await desktops(pool: pool, user: nil)
    }

    /// `transition` in whatever state the lifecycle allows.
    public func transition(_ id: String, _ event: DesktopEvent, actor: String) async throws(DeskpoolError) -> Desktop? {
        try await transition(id, event, expecting: nil, actor: actor)
    }

    /// `claimReady` on any host.
    public func claimReady(pool: String, user: String, actor: String) async throws(DeskpoolError) -> Desktop? {
        try await claimReady(pool: pool, user: user, actor: actor, onHosts: nil)
    }

    /// Records a new rollout that changes no pool spec.
    public func createRollout(_ rollout: Rollout, items: [RolloutItem], actor: String) async throws(DeskpoolError) {
        try await createRollout(rollout, items: items, pools: [], actor: actor)
    }

    /// Applies `change` to one item if it is in one of `from`; returns the new item or nil. A
    /// status change is audited (`rollout.desktop`).
    @discardableResult
    public func updateRolloutItem(rollout id: String, desktop: String, from: Set<RolloutItem.Status>, actor: String,
                                  change: @escaping @Sendable (inout RolloutItem) -> Void) async throws(DeskpoolError) -> RolloutItem? {
        try await updateRolloutItems(rollout: id, [RolloutItemUpdate(desktopID: desktop, from: from) { item, _ in change(&item) }], actor: actor)
            .first ?? nil
    }

    /// Rollouts, newest first; with `active`, only those not over.
    public func rollouts(active: Bool, limit: Int) async throws(DeskpoolError) -> [Rollout] {
        try await rollouts(in: active ? Rollout.State.active : nil, limit: limit)
    }

    /// The newest entries, of one subject or all.
    public func auditLog(subject: String?, limit: Int) async throws(DeskpoolError) -> [AuditEntry] {
        try await auditLog(AuditQuery(subject: subject, limit: limit))
    }
}

/// Which audit entries to read: filters (all optional, combined with AND) and a page.
public struct AuditQuery: Sendable, Hashable {
    public var subject: String?
    public var actor: String?
    public var action: String?
    /// Only entries older than this id (the next page).
    public var before: Int64?
    public var limit: Int

    public init(subject: String? = nil, actor: String? = nil, action: String? = nil, before: Int64? = nil, limit: Int = 100) {
        self.subject = subject
        self.actor = actor
        self.action = action
        self.before = before
        self.limit = limit
    }
}
