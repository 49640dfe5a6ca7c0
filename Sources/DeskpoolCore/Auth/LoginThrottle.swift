public import Foundation

/// Slows down password guessing, per user name and per client address, with no I/O: after a
/// failed login the next attempt for that user (or from that address) must wait, twice as
/// long after each further failure up to `maxDelay`; after `lockoutFailures` failures in a row
/// it is locked out for `lockout`. A success clears the user's and the address's record.
/// Failures older than `window` are forgotten.
public struct LoginThrottle: Sendable {
    public struct Policy: Sendable, Hashable {
        public var baseDelay: TimeInterval = 1
        public var maxDelay: TimeInterval = 30
        /// Failures in a row (per user) that lock the user out.
        public var lockoutFailures = 10
        /// Failures in a row (per address) that lock the address out: higher, since many
        /// users may share one address (a NAT, a thin-client network).
        public var addressLockoutFailures = 50
        public var lockout: TimeInterval = 900
        /// A record with no failure for this long is forgotten.
        public var window: TimeInterval = 900
        public init() {}
    }

    public enum Decision: Sendable, Hashable {
        case allow
        /// Refused without asking PAM; `until` is when to try again, `locked` whether it is a
        /// lockout rather than a backoff.
        case wait(until: Date, locked: Bool)
    }

    struct Record: Sendable, Hashable {
        var failures = 0
        var last = Date.distantPast
    }

    public let policy: Policy
    var users: [String: Record] = [:]
    var addresses: [String: Record] = [:]

    public init(policy: Policy = Policy()) { self.policy = policy }

    /// Whether a login for `user` from `address` may be tried now.
    public func check(user: String, address: String?, now: Date) -> Decision {
        var latest: (until: Date, locked: Bool)?
        if let record = users[user] { latest = later(latest, blocked(record, lockoutAt: policy.lockoutFailures, now: now)) }
        if let address, let record = addresses[address] {
            latest = later(latest, blocked(record, lockoutAt: policy.addressLockoutFailures, now: now))
        }
        guard let latest, latest.until > now else { return .allow }
        return .wait(until: latest.until, locked: latest.locked)
    }

    public mutating func failed(user: String, address: String?, now: Date) {
        users[user] = bumped(users[user], now: now)
        if let address { addresses[address] = bumped(addresses[address], now: now) }
        if users.count + addresses.count > 100_000 { forgetOld(now: now) }  // bounded memory under a spray
    }

    public mutating func succeeded(user: String, address: String?) {
        users[user] = nil
        if let address { addresses[address] = nil }
    }

    /// Drops records with no failure within the window.
    public mutating func forgetOld(now: Date) {
        users = users.filter { now.timeIntervalSince($0.value.last) < policy.window }
        addresses = addresses.filter { now.timeIntervalSince($0.value.last) < policy.window }
    }

    private func bumped(_ record: Record?, now: Date) -> Record {
        var record = record ?? Record()
        if now.timeIntervalSince(record.last) >= policy.window { record.failures = 0 }
        record.failures += 1
        record.last = now
        return record
    }

    private func blocked(_ record: Record, lockoutAt limit: Int, now: Date) -> (until: Date, locked: Bool)? {
        guard record.failures > 0, now.timeIntervalSince(record.last) < policy.window else { return nil }
        if record.failures >= limit { return (record.last.addingTimeInterval(policy.lockout), true) }
        let delay = min(policy.maxDelay, policy.baseDelay * pow(2, Double(record.failures - 1)))
        return (record.last.addingTimeInterval(delay), false)
    }

    private func later(_ a: (until: Date, locked: Bool)?, _ b: (until: Date, locked: Bool)?) -> (until: Date, locked: Bool)? {
        guard let a else { return b }
        guard let b else { return a }
        return a.until >= b.until ? a : b
    }
}
