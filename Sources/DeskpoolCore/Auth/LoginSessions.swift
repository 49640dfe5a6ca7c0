import Crypto
public import Foundation
import Synchronization

/// The broker's login sessions: a random 264-bit token per login, kept in the store only as
/// its SHA-256, valid until logout, `maxAge` after login, or `idle` without use. Being in the
/// store, a login survives a broker restart and is known to every broker on the same store.
///
/// A use is written back (the idle time starts again) at most once per `touchInterval`
/// (a tenth of `idle`, at most a minute), not on every request.
public struct LoginSessions: Sendable {
    let store: any Store
    let maxAge: TimeInterval
    public let idle: TimeInterval
    let now: @Sendable () -> Date
    let sweep = Sweep(every: 60)

    public init(store: any Store, maxAge: TimeInterval, idle: TimeInterval, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.maxAge = maxAge
        self.idle = idle
        self.now = now
    }

    var touchInterval: TimeInterval { min(60, idle / 10) }

    /// Starts a session; returns its token (shown once to the client) and the session.
    public func create(_ principal: SessionBroker.Principal, admin: Bool) async throws(DeskpoolError) -> (token: String, login: LoginSession) {
        let token = Self.randomToken()
        let start = now()
        let key = Self.key(token)
        let login = LoginSession(principal: principal, admin: admin, csrf: Self.randomToken(), createdAt: start,
                                 expiresAt: start.addingTimeInterval(maxAge), lastUsed: start, handle: String(key.prefix(8)))
        // Logins that ended by themselves go now and then (at most once a minute per broker):
        // here, where a login costs far more than the sweep.
        if sweep.due(at: start) { try await forgetExpired() }
        try await store.putLogin(login, key: key)
        return (token, login)
    }

    /// The live session of a token, marked used now; nil when unknown or expired (an expired
    /// one is forgotten).
    public func lookup(token: String) async throws(DeskpoolError) -> LoginSession? {
        let key = Self.key(token)
        guard var login = try await store.login(key: key) else { return nil }
        let now = now()
        guard login.isLive(at: now, idle: idle) else {
            try await store.deleteLogin(key: key)
            return nil
        }
        if now.timeIntervalSince(login.lastUsed) >= touchInterval {
            login.lastUsed = now
            try await store.touchLogin(key: key, at: now)
        }
        return login
    }

    public func end(token: String) async throws(DeskpoolError) {
        try await store.deleteLogin(key: Self.key(token))
    }

    /// Forgets the sessions that expired or went idle; returns how many (run now and then).
    @discardableResult
    public func forgetExpired() async throws(DeskpoolError) -> Int {
        let now = now()
        return try await store.deleteLogins(expiredBy: now, idleSince: now.addingTimeInterval(-idle))
    }

    /// Live sessions (for `/metrics`).
    public func count() async throws(DeskpoolError) -> Int {
        let now = now()
        return try await store.loginCount(liveAt: now, idleSince: now.addingTimeInterval(-idle))
    }

    /// The store's key of a token: its SHA-256, in hex.
    public static func key(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// 264 random bits (a multiple of 3 bytes), 44 base64url characters.
    public static func randomToken() -> String { SecureRandom.base64url(byteCount: 33) }
}

/// When a periodic cleanup is due: at the first ask, then at most once per `every` seconds.
public final class Sweep: Sendable {
    private let every: TimeInterval
    private let last = Mutex<Date?>(nil)

    public init(every: TimeInterval) { self.every = every }

    public func due(at now: Date) -> Bool {
        last.withLock { last in
            guard last.map({ now.timeIntervalSince($0) >= every || now < $0 }) ?? true else { return false }
            last = now
            return true
        }
    }
}
