import Crypto
public import DeskpoolCore
public import Foundation

/// The broker's login sessions, in memory: a random 256-bit token per login, stored only as
/// its SHA-256, valid until logout, `maxAge` after login, or `idle` without use. A broker
/// restart logs everyone out (a desktop session, and its console, are not affected).
public actor LoginSessions {
    private var sessions: [String: LoginSession] = [:]
    let maxAge: TimeInterval
    let idle: TimeInterval
    let now: @Sendable () -> Date

    public init(maxAge: TimeInterval, idle: TimeInterval, now: @escaping @Sendable () -> Date = { Date() }) {
        self.maxAge = maxAge
        self.idle = idle
        self.now = now
    }

    /// Starts a session; returns its token (shown once to the client) and the session.
    public func create(_ principal: SessionBroker.Principal, admin: Bool) -> (token: String, login: LoginSession) {
        let token = Self.randomToken()
        let start = now()
        let key = Self.key(token)
        let login = LoginSession(principal: principal, admin: admin, csrf: Self.randomToken(), createdAt: start,
                                   expiresAt: start.addingTimeInterval(maxAge), lastUsed: start, handle: String(key.prefix(8)))
        if sessions.count > 10_000 { forgetExpired() }
        sessions[key] = login
        return (token, login)
    }

    /// The live session of a token, marked used now; nil when unknown or expired.
    public func lookup(token: String) -> LoginSession? {
        let key = Self.key(token)
        guard var login = sessions[key] else { return nil }
        let now = now()
        guard now < login.expiresAt, now.timeIntervalSince(login.lastUsed) < idle else {
            sessions[key] = nil
            return nil
        }
        login.lastUsed = now
        sessions[key] = login
        return login
    }

    public func end(token: String) {
        sessions[Self.key(token)] = nil
    }

    public var count: Int { sessions.count }

    private func forgetExpired() {
        let now = now()
        sessions = sessions.filter { now < $0.value.expiresAt && now.timeIntervalSince($0.value.lastUsed) < idle }
    }

    static func key(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// 264 random bits (a multiple of 3 bytes), 44 base64url characters.
    static func randomToken() -> String { SecureRandom.base64url(byteCount: 33) }
}
