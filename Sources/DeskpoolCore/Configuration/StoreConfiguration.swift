public import Foundation

/// Where the broker keeps its state (`store:` in deskpool.yaml). Without `url`, the embedded
/// SQLite file `<stateDirectory>/deskpool.sqlite` (one broker). With a `postgres://` URL, a
/// PostgreSQL database that several brokers can share.
///
/// ```yaml
/// store:
///   url: postgres://deskpool@db.example:5432/deskpool?sslmode=verify-full&sslrootcert=/etc/deskpool/db-ca.pem
///   passwordFile: /etc/deskpool/db-password      # or DESKPOOL_STORE_PASSWORD in the environment
/// ```
public struct StoreConfiguration: Sendable, Hashable, Decodable {
    /// `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=disable|require|verify-full&sslrootcert=FILE&pool_max=N]`;
    /// nil: SQLite. Never holds the password.
    public var url: String?
    /// A file holding the database password (its first line), readable by the broker's user
    /// only; `DESKPOOL_STORE_PASSWORD` in the environment takes precedence.
    public var passwordFile: String?

    public init(url: String? = nil, passwordFile: String? = nil) {
        self.url = url
        self.passwordFile = passwordFile
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case url, passwordFile
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "store")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let url = try c.decodeIfPresent(String.self, forKey: .url) {
            guard let parsed = URLComponents(string: url), parsed.scheme == "postgres" || parsed.scheme == "postgresql" else {
                throw try c.superDecoder(forKey: .url).invalid("store.url must be a postgres:// URL (leave it out for the embedded SQLite store)")
            }
            guard parsed.password == nil else {
                // Not repeated in the message: it is a secret.
                throw try c.superDecoder(forKey: .url).invalid("store.url holds a password: put it in store.passwordFile or DESKPOOL_STORE_PASSWORD")
            }
            self.url = url
        }
        if let file = try c.decodeIfPresent(String.self, forKey: .passwordFile) {
            guard file.hasPrefix("/"), !file.contains("\0") else {
                throw try c.superDecoder(forKey: .passwordFile).invalid("store.passwordFile must be an absolute path")
            }
            passwordFile = file
        }
    }

    /// The database password: `DESKPOOL_STORE_PASSWORD`, else the first line of `passwordFile`
    /// (refused when others may read it), else none.
    public func password(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> String? {
        if let password = environment["DESKPOOL_STORE_PASSWORD"], !password.isEmpty { return password }
        guard let file = passwordFile else { return nil }
        var info = stat()
        guard stat(file, &info) == 0 else {
            throw ConfigurationError(code: .unreadable, message: "store.passwordFile \(file) cannot be read: \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o007 == 0 else {
            throw ConfigurationError(code: .invalidValue, message: "store.passwordFile \(file) may be read by others (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 600 or 640")
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ConfigurationError(code: .unreadable, message: "store.passwordFile \(file) cannot be read as text")
        }
        return String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }
}
