import Foundation

/// A PAM account made by scripts/bench-login-storm: name and password, from a root-only file
/// with one "name password" line per user.
struct StormUser: Sendable {
    let name: String
    let password: String

    static func load(_ path: String) throws -> [StormUser] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            return StormUser(name: String(parts[0]), password: String(parts[1]))
        }
    }
}
