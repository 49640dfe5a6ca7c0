#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import Foundation

/// What `deskpool login` remembers: the broker's URL and the session token, with the user it
/// belongs to. Kept as JSON at `$DESKPOOL_CLIENT_CONFIG`, else `~/.config/deskpool/client.json`,
/// mode 0600 in a directory of mode 0700. The token is a secret: it is never printed, and
/// `description` leaves it out.
public struct ClientSettings: Sendable, Hashable, Codable, CustomStringConvertible, CustomReflectable {
    public var server: String
    public var user: String?
    public var token: String?
    public var admin: Bool?
    public var expiresAt: Date?

    public init(server: String, user: String? = nil, token: String? = nil, admin: Bool? = nil, expiresAt: Date? = nil) {
        self.server = server
        self.user = user
        self.token = token
        self.admin = admin
        self.expiresAt = expiresAt
    }

    public var description: String {
        "ClientSettings(server: \(server), user: \(user ?? "-"), \(token == nil ? "logged out" : "logged in"))"
    }

    public var customMirror: Mirror { Mirror(self, children: ["server": server, "user": user as Any, "loggedIn": token != nil]) }

    /// The default broker when nothing is given or saved.
    public static let defaultServer = "http://127.0.0.1:8080"

    /// Where the settings live: `$DESKPOOL_CLIENT_CONFIG`, else `~/.config/deskpool/client.json`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["DESKPOOL_CLIENT_CONFIG"], !path.isEmpty { return path }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".config/deskpool/client.json").path
    }

    /// The saved settings, or nil when there is no file.
    public static func load(from path: String = defaultPath()) throws(SettingsError) -> ClientSettings? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SettingsError(path: path, reason: "cannot read it: \(error.localizedDescription)")
        }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(ClientSettings.self, from: data)
        } catch {
            throw SettingsError(path: path, reason: "not a client settings file (remove it and log in again)")
        }
    }

    /// Writes the settings: a new file of mode 0600 renamed over the old one, in a directory
    /// created with mode 0700 if missing (and kept 0700 when it is a `deskpool` directory).
    public func save(to path: String = defaultPath()) throws(SettingsError) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        if !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw SettingsError(path: path, reason: "cannot create \(directory): \(error.localizedDescription)")
            }
        } else if url.deletingLastPathComponent().lastPathComponent == "deskpool" {
            // Our own directory (~/.config/deskpool) is private even if something made it wider;
            // a directory given by DESKPOOL_CLIENT_CONFIG is someone else's choice.
            chmod(directory, 0o700)
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(self) } catch { throw SettingsError(path: path, reason: "cannot encode: \(error)") }
        try Self.writePrivately(data, to: path)
    }

    /// Forgets the login, keeping the server; removes nothing else.
    public func loggedOut() -> ClientSettings {
        ClientSettings(server: server)
    }

    /// Creates `path.tmp-PID` with mode 0600 (exclusive; umask can only narrow it), writes,
    /// syncs and renames it over `path`, so no reader ever sees a partial or wider file.
    static func writePrivately(_ data: Data, to path: String) throws(SettingsError) {
        let temporary = "\(path).tmp-\(getpid())"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SettingsError(path: path, reason: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var failure: String?
        if fchmod(fd, 0o600) != 0 { failure = "chmod: \(String(cString: strerror(errno)))" }
        if failure == nil {
            failure = data.withUnsafeBytes { bytes -> String? in
                var offset = 0
                while offset < bytes.count {
                    let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return "write: \(String(cString: strerror(errno)))"
                    }
                    offset += written
                }
                return nil
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = "fsync: \(String(cString: strerror(errno)))" }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = "rename: \(String(cString: strerror(errno)))" }
        if let failure {
            unlink(temporary)
            throw SettingsError(path: path, reason: failure)
        }
    }
}

/// The client settings file cannot be read or written.
public struct SettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "error: client settings \(path): \(reason)" }
}
