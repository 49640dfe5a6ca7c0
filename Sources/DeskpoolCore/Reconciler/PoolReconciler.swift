public import Foundation

/// Decides what keeps one pool at its spec: which desktops to provision (and where), which
/// half-done desktops to drive on, which spares to retire, which failed desktops to discard.
/// A pure value-level function: no I/O, so every rule has a table test
/// (`PoolReconcilerTests`). `ReconcilerService` runs the actions.
public enum PoolReconciler {
    public struct Input: Sendable {
        public var pool: PoolSpec
        /// The version new desktops are cloned from; nil when none can be used.
        public var version: TemplateVersion?
        /// Why `version` is nil.
        public var versionProblem: String?
        /// Memory of one desktop, for placement.
        public var memoryMiB: Int
        /// The pool's desktop records.
        public var desktops: [Desktop]
        /// Desktops with work in flight (never acted on twice).
        public var busy: Set<String>
        /// Hosts the pool may use and can reach, with free capacity.
        public var hosts: [Placement.Candidate]
        /// Every desktop name in use (names are unique across pools).
        public var takenNames: Set<String>
        /// Provisioning failures in a row; while > 0, one desktop at a time tries.
        public var failures: Int
        /// No new provisioning before this (backoff after failures).
        public var retryAt: Date?
        public var now: Date

        public init(pool: PoolSpec, version: TemplateVersion?, versionProblem: String? = nil, memoryMiB: Int, desktops: [Desktop],
                    busy: Set<String> = [], hosts: [Placement.Candidate], takenNames: Set<String>, failures: Int = 0, retryAt: Date? = nil, now: Date) {
            self.pool = pool
            self.version = version
            self.versionProblem = versionProblem
            self.memoryMiB = memoryMiB
            self.desktops = desktops
            self.busy = busy
            self.hosts = hosts
            self.takenNames = takenNames
            self.failures = failures
            self.retryAt = retryAt
            self.now = now
        }
    }


    public enum Action: Sendable, Hashable {
        /// Insert this record (the intent), then create and start it.
        case provision(Desktop)
        /// Carry a provisioning, starting, refreshing or deleting desktop to its next stable state.
        case drive(Desktop)
        /// Mark an unneeded ready or saved (or logged-off, refreshing) desktop `deleting` and
        /// destroy it.
        case retire(Desktop)
        /// Save a ready spare to disk (the pool keeps more running than it asks for, and fewer
        /// saved).
        case save(Desktop)
        /// Resume a saved spare (the pool has fewer running than it asks for): it is ready in
        /// seconds, and a new desktop takes its place among the saved.
        case resume(Desktop)
        /// Destroy a failed, unassigned desktop so a fresh one can replace it.
        case discardFailed(Desktop)
        /// The pool is short of desktops and nothing can be done now, with the reason.
        case blocked(String)
    }

    public static func plan(_ input: Input) -> [Action] {
        let pool = input.pool
        let idle = input.desktops.filter { !input.busy.contains($0.id) }
        let live = input.desktops.filter { $0.state != .failed && $0.state != .deleting }
        let inSession = live.filter { $0.user != nil }.count
        // A draining pool (being deleted) wants nothing: what is idle goes now, the rest after logoff.
        let want = pool.draining ? 0 : min(pool.max, max(pool.min, inSession + pool.spare + pool.savedSpare))
        var excess = max(0, live.count - want)

        // A logged-off desktop the pool does not need is retired rather than re-cloned.
        let unneededRefreshes = idle.filter { $0.state == .refreshing && $0.user == nil }.prefix(excess)
        excess -= unneededRefreshes.count
        var actions: [Action] = idle.filter { $0.state.isTransitional && !unneededRefreshes.contains($0) }.map(Action.drive)
        actions += unneededRefreshes.map(Action.retire)

        let backingOff = input.retryAt.map { input.now < $0 } ?? false
        let failed = input.desktops.filter { $0.state == .failed }
        // A failed dedicated desktop that still has its user is left for the admin (its disk is
        // the user's); a floating one holds nothing of anyone's: its session ended with it.
        let discardable = failed.filter { ($0.user == nil || input.pool.assignment == .floating) && !input.busy.contains($0.id) }
        if !backingOff { actions += discardable.map(Action.discardFailed) }

        let holding = live.count + failed.count - (backingOff ? 0 : discardable.count)

        if pool.draining {
            actions += idle.filter { $0.state == .off }.map(Action.retire)
        }
        // Spares by tier: running (ready) and saved (or being saved), busy or not.
        let current = { (d: Desktop) in d.version == input.version?.number }
        var ready = live.filter { $0.state == .ready && $0.user == nil }.count
        var saved = live.filter { $0.state == .saving || $0.state == .saved }.count
        var readyIdle = idle.filter { $0.state == .ready && $0.user == nil }
            .sorted { (current($0) ? 1 : 0, $1.name) < (current($1) ? 1 : 0, $0.name) }
        var savedIdle = idle.filter { $0.state == .saved }
            .sorted { (current($0) ? 1 : 0, $1.name) < (current($1) ? 1 : 0, $0.name) }
        // Retired first: spares of an older version, then from the tier with more above its
        // target (the newest names first, so that the lowest stay).
        while excess > 0, !readyIdle.isEmpty || !savedIdle.isEmpty {
            let oldReady = readyIdle.first.map { !current($0) } ?? false, oldSaved = savedIdle.first.map { !current($0) } ?? false
            let fromSaved = savedIdle.isEmpty ? false
                : readyIdle.isEmpty || (oldSaved && !oldReady) || (oldSaved == oldReady && saved - pool.savedSpare > ready - pool.spare)
            if fromSaved {
                actions.append(.retire(savedIdle.removeFirst()))
                saved -= 1
            } else {
                actions.append(.retire(readyIdle.removeFirst()))
                ready -= 1
            }
            excess -= 1
        }
        if !pool.draining {
            // Running spares to come: free desktops being made, started or refreshed.
            let coming = live.filter { $0.user == nil && [.provisioning, .starting, .refreshing, .restarting].contains($0.state) }.count
            if ready + coming < pool.spare, !savedIdle.isEmpty {
                // Short of running spares: saved ones are the fastest to bring back.
                actions += savedIdle.suffix(pool.spare - ready - coming).map(Action.resume)
            } else if ready > pool.spare, saved < pool.savedSpare {
                // More running than asked for, fewer saved: spares on the current version are
                // saved, the newest names first (older versions are refreshed or retired anyway).
                actions += readyIdle.filter(current).prefix(min(ready - pool.spare, pool.savedSpare - saved)).map(Action.save)
            }
        }

        var count = min(want - live.count, pool.max - holding)
        guard count > 0 else { return actions }
        if backingOff { return actions + [.blocked("provisioning backs off after \(input.failures) failure(s) in a row")] }
        guard let version = input.version else {
            return actions + [.blocked(input.versionProblem ?? "no published version of template \(pool.template)")]
        }
        if input.failures > 0 {
            // After a failure, one desktop at a time tests whether the template works again.
            let coming = live.contains { $0.state == .provisioning || $0.state == .starting || $0.state == .refreshing }
            count = coming ? 0 : 1
        }
        var planned: [String: Int] = [:]
        let names = pool.naming.freeNames(count, excluding: input.takenNames)
        for name in names {
            let candidates = input.hosts.map {
                Placement.Candidate(name: $0.name, freeMemoryMiB: $0.freeMemoryMiB - planned[$0.name, default: 0] * input.memoryMiB)
            }
            guard let hostName = Placement.choose(memoryMiB: input.memoryMiB, among: candidates) else {
                actions.append(.blocked("no allowed host has \(input.memoryMiB) MiB free for another desktop"))
                break
            }
            planned[hostName, default: 0] += 1
            actions.append(.provision(Desktop(
                name: name, pool: pool.name, host: hostName, template: pool.template, version: version.number,
                generation: pool.generation, createdAt: input.now)))
        }
        return actions
    }
}
