public import Foundation

/// Slows down password guessing with no I/O: events in (an attempt, a failure, a success, an
/// admin's unlock), decisions out.
///
/// Failures are counted per (user name, client address) pair and per client address, so an
/// attacker can only lock out what they come from: a user failing from address A is not slowed
/// at address B. A pair waits after a failure, twice as long after each further failure up to
/// `maxDelay`, and is locked out for `lockout` after `lockoutFailures` in a row. An address is
/// only locked (no backoff, since many users may share it) after `addressLockoutFailures`. A
/// success clears the pair and the address. Records with no failure for `window` are
/// forgotten, and at most `maxRecords` are kept (a spray of names and addresses cannot grow
/// memory without limit). Refused attempts are counted and reported at most once per key per
/// `reportInterval`, so a burst makes a count, not a row per attempt.
public struct LoginThrottle: Sendable {
    public struct Policy: Sendable, Hashable {
        public var baseDelay: TimeInterval = 1
        public var maxDelay: TimeInterval = 30
        /// Failures in a row (per user and address) that lock that pair out.
        public var lockoutFailures = 10
        /// Failures in a row (per address, any user, malformed names included) that lock the
        /// address out: higher, since many users may share one address (a NAT).
        public var addressLockoutFailures = 50
        public var lockout: TimeInterval = 900
        /// A record with no failure for this long is forgotten.
        public var window: TimeInterval = 900
        /// Refused attempts of one key are reported at most this often.
        public var reportInterval: TimeInterval = 60
        /// Records kept at most; beyond, the oldest records that do not lock are dropped first.
        public var maxRecords = 10_000
        public init() {}
    }

    /// What is throttled: a user name from an address, or (`user` nil) an address as a whole.
    public struct Key: Sendable, Hashable, Comparable {
        public var user: String?
        public var address: String
        public init(user: String?, address: String?) {
            self.user = user
            self.address = address ?? LoginThrottle.unknownAddress
        }
        public static func < (a: Key, b: Key) -> Bool { (a.address, a.user ?? "") < (b.address, b.user ?? "") }
    }

    /// The key of requests whose client address is not known (tests without sockets).
    public static let unknownAddress = "unknown"

    public enum Decision: Sendable, Hashable {
        case allow
        /// Refused without asking the authenticator: `key` blocks until `until`; `locked` says
        /// whether it is a lockout rather than a backoff. `report` is the number of refused
        /// attempts of that key to record now (nil: folded into a later report).
        case refuse(key: Key, until: Date, locked: Bool, report: Int?)
    }

    /// A key that is backed off or locked now.
    public struct Lock: Sendable, Hashable {
        public var key: Key
        public var failures: Int
        public var until: Date
        public var locked: Bool
        public init(key: Key, failures: Int, until: Date, locked: Bool) {
            self.key = key
            self.failures = failures
            self.until = until
            self.locked = locked
        }
    }

    struct Record: Sendable, Hashable {
        var failures = 0
        var last = Date.distantPast
        var refusedSinceReport = 0
        var lastReport = Date.distantPast
    }

    public let policy: Policy
    private(set) var records: [Key: Record] = [:]

    public init(policy: Policy = Policy()) { self.policy = policy }

    /// How many keys are remembered.
    public var count: Int { records.count }

    /// The keys remembered.
    public var keys: [Key] { Array(records.keys) }

    /// Whether a login for `user` from `address` may ask the authenticator now. A refusal is
    /// counted against the key that blocks (the address's lock before the pair's).
    /// `user` nil: a malformed name, which only the address's lock refuses.
    public mutating func attempt(user: String?, address: String?, now: Date) -> Decision {
        let addressKey = Key(user: nil, address: address)
        let pairKey = user.map { Key(user: $0, address: address) }
        guard let (key, until, locked) = block(addressKey, now: now) ?? pairKey.flatMap({ block($0, now: now) }) else { return .allow }
        var record = records[key] ?? Record()
        record.refusedSinceReport += 1
        var report: Int?
        if now.timeIntervalSince(record.lastReport) >= policy.reportInterval {
            report = record.refusedSinceReport
            record.refusedSinceReport = 0
            record.lastReport = now
        }
        records[key] = record
        return .refuse(key: key, until: until, locked: locked, report: report)
    }

    /// The keys a login's failure counts against: its address, and its pair when named.
    public static func keys(user: String?, address: String?) -> [Key] {
        [Key(user: nil, address: address)] + (user.map { [Key(user: $0, address: address)] } ?? [])
    }

    /// The counts every broker shares (from the store) are the truth for `keys`: failures
    /// through other brokers count here too, and a count the store no longer has (a success or
    /// an admin's unlock through another broker) holds nothing back here either.
    public mutating func adopt(_ shared: [LoginFailures], for keys: [Key]) {
        let found = Dictionary(shared.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for key in Set(keys).union(found.keys) {
            if let entry = found[key] {
                var record = records[key] ?? Record()
                record.failures = entry.failures
                record.last = entry.last
                records[key] = record
            } else if var record = records[key] {
                record.failures = 0  // its report counters stay; `forgetOld` takes it later
                records[key] = record
            }
        }
    }

    /// A failed login (wrong password, unknown user, unusable account; `user` nil: a malformed
    /// name, which counts for the address only). `shared`: each key's count after this failure
    /// as the store has it (every broker's), which replaces counting here. Returns the lock
    /// this failure started, if any.
    @discardableResult
    public mutating func failed(user: String?, address: String?, now: Date, shared: [Key: Int] = [:]) -> Lock? {
        var started: Lock?
        for key in Self.keys(user: user, address: address) {
            var record = records[key] ?? Record()
            if let count = shared[key] {
                record.failures = count
            } else {
                if now.timeIntervalSince(record.last) >= policy.window { record.failures = 0 }
                record.failures += 1
            }
            record.last = now
            records[key] = record
            if record.failures == limit(key), let (_, until, _) = block(key, now: now) {
                started = started ?? Lock(key: key, failures: record.failures, until: until, locked: true)
            }
        }
        if records.count > policy.maxRecords { shrink(now: now) }
        return started
    }

    /// A successful login clears its pair and its address.
    /// Returns whether the pair or the address had failures to clear.
    @discardableResult
    public mutating func succeeded(user: String, address: String?) -> Bool {
        let pair = records.removeValue(forKey: Key(user: user, address: address))
        let place = records.removeValue(forKey: Key(user: nil, address: address))
        return (pair?.failures ?? 0) > 0 || (place?.failures ?? 0) > 0
    }

    /// The keys that block now, by address then user.
    public func locks(now: Date) -> [Lock] {
        records.compactMap { key, record in
            block(key, now: now).map { Lock(key: key, failures: record.failures, until: $0.until, locked: $0.locked) }
        }.sorted { $0.key < $1.key }
    }

    /// An admin's unlock: `user` and `address` clear that pair; `user` alone every pair of the
    /// user; `address` alone the address and every pair at it. Returns how many records went.
    public mutating func unlock(user: String?, address: String?) -> Int {
        let before = records.count
        records = records.filter { key, _ in
            let userMatches = user.map { key.user == $0 } ?? true
            let addressMatches = address.map { key.address == $0 } ?? true
            return !(userMatches && addressMatches) || (user == nil && address == nil)
        }
        return before - records.count
    }

    /// Drops records with no failure within the window (and nothing left to report).
    public mutating func forgetOld(now: Date) {
        records = records.filter { now.timeIntervalSince(max($0.value.last, $0.value.lastReport)) < policy.window }
    }

    private mutating func shrink(now: Date) {
        forgetOld(now: now)
        guard records.count > policy.maxRecords else { return }
        // Drop a tenth more than needed so a spray does not sort on every failure; records that
        // lock go last.
        let excess = records.count - policy.maxRecords * 9 / 10
        let victims = records.sorted { a, b in
            let (aLocked, bLocked) = (block(a.key, now: now)?.locked == true, block(b.key, now: now)?.locked == true)
            return aLocked != bLocked ? !aLocked : a.value.last < b.value.last
        }.prefix(excess)
        for (key, _) in victims { records[key] = nil }
    }

    private func limit(_ key: Key) -> Int { key.user == nil ? policy.addressLockoutFailures : policy.lockoutFailures }

    /// Until when `key` blocks, if it does now. Addresses are only locked, never backed off.
    private func block(_ key: Key, now: Date) -> (key: Key, until: Date, locked: Bool)? {
        guard let record = records[key], record.failures > 0, now.timeIntervalSince(record.last) < policy.window else { return nil }
        let until: Date
        let locked = record.failures >= limit(key)
        if locked {
            until = record.last.addingTimeInterval(policy.lockout)
        } else if key.user == nil {
            return nil
        } else {
            until = record.last.addingTimeInterval(min(policy.maxDelay, policy.baseDelay * pow(2, Double(record.failures - 1))))
        }
        return until > now ? (key, until, locked) : nil
    }
}

/// One key's failed logins as the store keeps them for every broker: how many in a row, and the
/// last one's time.
public struct LoginFailures: Sendable, Hashable {
    public var key: LoginThrottle.Key
    public var failures: Int
    public var last: Date

    public init(key: LoginThrottle.Key, failures: Int, last: Date) {
        self.key = key
        self.failures = failures
        self.last = last
    }
}
