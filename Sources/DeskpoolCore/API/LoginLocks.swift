public import Foundation

/// `GET /api/v1/admin/login-locks`: a user name at an address, or (`user` nil) an address as a
/// whole, that is backed off or locked out after failed logins.
public struct LoginLockView: Sendable, Hashable, Codable {
    public var user: String?
    public var address: String
    public var failures: Int
    /// When logins are let through again.
    public var until: Date
    /// A lockout (true) or a backoff between attempts (false).
    public var locked: Bool
    public init(user: String?, address: String, failures: Int, until: Date, locked: Bool) {
        self.user = user
        self.address = address
        self.failures = failures
        self.until = until
        self.locked = locked
    }
}

/// `DELETE /api/v1/admin/login-locks?user=NAME&address=ADDRESS`: how many records were cleared.
public struct LoginUnlockResult: Sendable, Hashable, Codable {
    public var cleared: Int
    public init(cleared: Int) { self.cleared = cleared }
}
