public import DeskpoolCore
public import Foundation
import Synchronization

/// A store that fails the writes a test names, as a full disk or a read-only file would
/// (`storeFailed`), and passes everything else to the real store underneath: a use case cut
/// short between two writes can be replayed exactly.
public final class FaultyStore: Store {
    /// The store's writes.
    public enum Write: String, Sendable, CaseIterable {
        case putTemplate, beginVersion, publishVersion, deleteVersion
        case putPool, drainPool, deleteDrainedPool
        case insertDesktop, transition, claimReady, deleteDesktop
        case createRollout, updateRollout, updateRolloutItems
        case putLogin, touchLogin, deleteLogin, deleteLogins, replaceLogin, recordLoginFailure, clearLoginFailures
        case putChallenge, answerChallenge, takeChallengeAnswers, putChallengeOutcome, deleteChallenge, deleteChallenges
        case deleteUsage
        case probeWrite, audit
    }

    public let base: any Store
    private let failing = Mutex<Set<Write>>([])

    public init(_ base: any Store) {
        self.base = base
    }

    /// From now on these writes fail (an empty set: none does).
    public func fail(_ writes: Set<Write>) {
        failing.withLock { $0 = writes }
    }

    private func check(_ write: Write) throws(DeskpoolError) {
        if failing.withLock({ $0.contains(write) }) {
            throw DeskpoolError(.storeFailed, "the store refused the write (\(write.rawValue), injected by a test)")
        }
    }

    // MARK: Templates and versions
    public func putTemplate(_ template: TemplateDefinition, actor: String) async throws(DeskpoolError) {
        try check(.putTemplate)
        try await base.putTemplate(template, actor: actor)
    }

    public func template(named name: String) async throws(DeskpoolError) -> TemplateDefinition? { try await base.template(named: name) }
    public func templates() async throws(DeskpoolError) -> [TemplateDefinition] { try await base.templates() }

    public func beginVersion(template: String, note: String, actor: String) async throws(DeskpoolError) -> TemplateVersion {
        try check(.beginVersion)
        return try await base.beginVersion(template: template, note: note, actor: actor)
    }

    public func publishVersion(template: String, number: Int, actor: String) async throws(DeskpoolError) {
        try check(.publishVersion)
        try await base.publishVersion(template: template, number: number, actor: actor)
    }

    public func versions(template: String) async throws(DeskpoolError) -> [TemplateVersion] { try await base.versions(template: template) }

    public func deleteVersion(template: String, number: Int, actor: String) async throws(DeskpoolError) {
        try check(.deleteVersion)
        try await base.deleteVersion(template: template, number: number, actor: actor)
    }

    // MARK: Pools
    @discardableResult
    public func putPool(_ spec: PoolSpec, actor: String) async throws(DeskpoolError) -> PoolSpec {
        try check(.putPool)
        return try await base.putPool(spec, actor: actor)
    }

    public func pool(named name: String) async throws(DeskpoolError) -> PoolSpec? { try await base.pool(named: name) }
    public func pools() async throws(DeskpoolError) -> [PoolSpec] { try await base.pools() }

    public func drainPool(named name: String, actor: String) async throws(DeskpoolError) -> PoolSpec {
        try check(.drainPool)
        return try await base.drainPool(named: name, actor: actor)
    }

    public func deleteDrainedPool(named name: String, actor: String) async throws(DeskpoolError) -> Bool {
        try check(.deleteDrainedPool)
        return try await base.deleteDrainedPool(named: name, actor: actor)
    }

    // MARK: Desktops
    public func insertDesktop(_ desktop: Desktop, actor: String, limit: Int?) async throws(DeskpoolError) -> Bool {
        try check(.insertDesktop)
        return try await base.insertDesktop(desktop, actor: actor, limit: limit)
    }

    public func desktop(id: String) async throws(DeskpoolError) -> Desktop? { try await base.desktop(id: id) }
    public func desktop(named name: String) async throws(DeskpoolError) -> Desktop? { try await base.desktop(named: name) }
    public func desktops(pool: String?, user: String?) async throws(DeskpoolError) -> [Desktop] { try await base.desktops(pool: pool, user: user) }
    public func pool(named name: String, withDesktopsOf user: String) async throws(DeskpoolError) -> (pool: PoolSpec, desktops: [Desktop])? {
        try await base.pool(named: name, withDesktopsOf: user)
    }

    public func transition(_ id: String, _ event: DesktopEvent, expecting: Set<DesktopState>?, actor: String) async throws(DeskpoolError) -> Desktop? {
        try check(.transition)
        return try await base.transition(id, event, expecting: expecting, actor: actor)
    }

    public func claimReady(pool: String, user: String, actor: String, onHosts hosts: Set<String>?) async throws(DeskpoolError) -> Desktop? {
        try check(.claimReady)
        return try await base.claimReady(pool: pool, user: user, actor: actor, onHosts: hosts)
    }

    public func deleteDesktop(id: String, actor: String) async throws(DeskpoolError) {
        try check(.deleteDesktop)
        try await base.deleteDesktop(id: id, actor: actor)
    }

    // MARK: Rollouts
    public func createRollout(_ rollout: Rollout, items: [RolloutItem], pools: [PoolSpec], actor: String) async throws(DeskpoolError) {
        try check(.createRollout)
        try await base.createRollout(rollout, items: items, pools: pools, actor: actor)
    }

    public func rollout(id: String) async throws(DeskpoolError) -> Rollout? { try await base.rollout(id: id) }

    public func rollouts(in states: Set<Rollout.State>?, limit: Int) async throws(DeskpoolError) -> [Rollout] {
        try await base.rollouts(in: states, limit: limit)
    }

    public func rolloutItems(rollout id: String) async throws(DeskpoolError) -> [RolloutItem] { try await base.rolloutItems(rollout: id) }

    public func updateRollout(_ id: String, from: Set<Rollout.State>, actor: String,
                              change: @escaping @Sendable (inout Rollout) -> Void) async throws(DeskpoolError) -> Rollout? {
        try check(.updateRollout)
        return try await base.updateRollout(id, from: from, actor: actor, change: change)
    }

    public func updateRolloutItems(rollout id: String, _ updates: [RolloutItemUpdate], actor: String) async throws(DeskpoolError) -> [RolloutItem?] {
        try check(.updateRolloutItems)
        return try await base.updateRolloutItems(rollout: id, updates, actor: actor)
    }

    // MARK: Readiness and audit
    // MARK: Logins
    public func putLogin(_ login: LoginSession, key: String) async throws(DeskpoolError) {
        try check(.putLogin)
        try await base.putLogin(login, key: key)
    }

    public func login(key: String) async throws(DeskpoolError) -> LoginSession? { try await base.login(key: key) }

    public func touchLogin(key: String, at: Date) async throws(DeskpoolError) {
        try check(.touchLogin)
        try await base.touchLogin(key: key, at: at)
    }

    public func deleteLogin(key: String) async throws(DeskpoolError) {
        try check(.deleteLogin)
        try await base.deleteLogin(key: key)
    }

    public func deleteLogins(expiredBy: Date, idleSince: Date) async throws(DeskpoolError) -> Int {
        try check(.deleteLogins)
        return try await base.deleteLogins(expiredBy: expiredBy, idleSince: idleSince)
    }

    public func loginCount(liveAt: Date, idleSince: Date) async throws(DeskpoolError) -> Int {
        try await base.loginCount(liveAt: liveAt, idleSince: idleSince)
    }

    public func replaceLogin(_ login: LoginSession, key: String) async throws(DeskpoolError) -> Bool {
        try check(.replaceLogin)
        return try await base.replaceLogin(login, key: key)
    }

    // MARK: Login challenges
    public func putChallenge(_ challenge: LoginChallenge) async throws(DeskpoolError) {
        try check(.putChallenge)
        try await base.putChallenge(challenge)
    }

    public func answerChallenge(key: String, at: Date, answers: [UInt8]?) async throws(DeskpoolError) -> LoginChallenge? {
        try check(.answerChallenge)
        return try await base.answerChallenge(key: key, at: at, answers: answers)
    }

    public func takeChallengeAnswers(owner: String) async throws(DeskpoolError) -> [LoginChallenge] {
        try check(.takeChallengeAnswers)
        return try await base.takeChallengeAnswers(owner: owner)
    }

    public func putChallengeOutcome(key: String, outcome: [UInt8]) async throws(DeskpoolError) {
        try check(.putChallengeOutcome)
        try await base.putChallengeOutcome(key: key, outcome: outcome)
    }

    public func challenge(key: String) async throws(DeskpoolError) -> LoginChallenge? { try await base.challenge(key: key) }

    public func deleteChallenge(key: String) async throws(DeskpoolError) {
        try check(.deleteChallenge)
        try await base.deleteChallenge(key: key)
    }

    @discardableResult
    public func deleteChallenges(expiredBy before: Date) async throws(DeskpoolError) -> Int {
        try check(.deleteChallenges)
        return try await base.deleteChallenges(expiredBy: before)
    }

    // MARK: Failed logins
    public func recordLoginFailure(keys: [LoginThrottle.Key], at: Date, window: TimeInterval) async throws(DeskpoolError) -> [LoginFailures] {
        try check(.recordLoginFailure)
        return try await base.recordLoginFailure(keys: keys, at: at, window: window)
    }

    public func loginFailures(keys: [LoginThrottle.Key]) async throws(DeskpoolError) -> [LoginFailures] { try await base.loginFailures(keys: keys) }
    public func loginFailures(since: Date) async throws(DeskpoolError) -> [LoginFailures] { try await base.loginFailures(since: since) }

    public func clearLoginFailures(keys: [LoginThrottle.Key], user: String?, address: String?, before: Date?) async throws(DeskpoolError) -> Int {
        try check(.clearLoginFailures)
        return try await base.clearLoginFailures(keys: keys, user: user, address: address, before: before)
    }

    // MARK: Usage history
    public func usage(_ query: UsageQuery) async throws(DeskpoolError) -> [UsageRecord] { try await base.usage(query) }

    @discardableResult
    public func deleteUsage(endedBefore before: Date) async throws(DeskpoolError) -> Int {
        try check(.deleteUsage)
        return try await base.deleteUsage(endedBefore: before)
    }

    public func noteUsageTicket(session: String, at: Date) async throws(DeskpoolError) { try await base.noteUsageTicket(session: session, at: at) }

    public func recordCapacity(_ samples: [CapacitySample]) async throws(DeskpoolError) { try await base.recordCapacity(samples) }

    public func capacitySamples(pool: String, from: Date, to: Date, limit: Int) async throws(DeskpoolError) -> [CapacitySample] {
        try await base.capacitySamples(pool: pool, from: from, to: to, limit: limit)
    }

    @discardableResult
    public func deleteCapacitySamples(before: Date) async throws(DeskpoolError) -> Int { try await base.deleteCapacitySamples(before: before) }

    public func secret(named name: String, orCreate create: @Sendable () -> [UInt8]) async throws(DeskpoolError) -> [UInt8] {
        try await base.secret(named: name, orCreate: create)
    }

    public func takeLease(_ name: String, holder: String, renewing generation: Int64?, for duration: Duration) async throws(DeskpoolError) -> Lease? {
        try await base.takeLease(name, holder: holder, renewing: generation, for: duration)
    }

    public func releaseLease(_ name: String, holder: String, generation: Int64) async throws(DeskpoolError) {
        try await base.releaseLease(name, holder: holder, generation: generation)
    }

    public func leases() async throws(DeskpoolError) -> [Lease] { try await base.leases() }

    public func probeWrite(at: Date) async throws(DeskpoolError) {
        try check(.probeWrite)
        try await base.probeWrite(at: at)
    }

    public func audit(_ entry: AuditEntry) async throws(DeskpoolError) {
        try check(.audit)
        try await base.audit(entry)
    }

    public func auditLog(_ query: AuditQuery) async throws(DeskpoolError) -> [AuditEntry] { try await base.auditLog(query) }
}
