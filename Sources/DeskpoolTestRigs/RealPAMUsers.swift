import Foundation

/// The real system users that `scripts/pam-real-users create` makes for the real PAM tier,
/// read from the root-only file the script writes: one `case user password` line each.
public struct RealPAMUsers: Sendable {
    public static let defaultFile = "/run/deskpool-rig/pam-real-users"
    /// The pam_unix service the script installs in /etc/pam.d.
    public static let service = "deskpool-test-unix"

    public struct User: Sendable {
        public let name: String
        public let password: String
    }

    private let users: [String: User]

    public init(file: String = RealPAMUsers.defaultFile) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        var users: [String: User] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 2).map(String.init)
            guard fields.count == 3 else { continue }
            users[fields[0]] = User(name: fields[1], password: fields[2])
        }
        self.users = users
    }

    /// The user for a case: `good`, `expired`, `locked` or `mustchange`.
    public func user(_ role: String) throws -> User {
        guard let user = users[role] else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "no '\(role)' user in \(RealPAMUsers.defaultFile)"])
        }
        return user
    }
}
