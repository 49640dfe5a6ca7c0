public import DeskpoolCore

extension APIClient {
    /// `GET /api/v1/admin/login-locks`: user names and addresses held back after failed logins.
    public func loginLocks() async throws -> [LoginLockView] {
        try await call(.loginLocks)
    }

    /// `DELETE /api/v1/admin/login-locks?user=&address=`: clears a user's records (at one address,
    /// or all), or an address's; at least one of the two.
    public func unlockLogins(user: String?, address: String?) async throws -> LoginUnlockResult {
        try await call(.unlockLogins(user: user, address: address))
    }
}

extension Endpoint {
    public static let loginLocks = Endpoint.api(.get, "admin", "login-locks")

    public static func unlockLogins(user: String?, address: String?) -> Endpoint {
        .api(.delete, "admin", "login-locks", query: filters(["user": user, "address": address]))
    }
}
