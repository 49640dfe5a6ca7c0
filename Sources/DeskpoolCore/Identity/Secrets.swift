import Foundation

/// The secrets identity seeds may carry (a directory join password), named in deskpool.yaml's
/// `secrets:` and read from files on the broker's host when a desktop is created: the API
/// only ever names them, and their values never reach a log, an error or the audit log.
public struct Secrets: Sendable, Hashable {
    /// Secret name to absolute file path.
    public var files: [String: String]

    public init(files: [String: String] = [:]) { self.files = files }

    public var names: Set<String> { Set(files.keys) }

    /// Files larger than this are refused: a secret is a password or a token.
    static let maxBytes = 64 * 1024

    /// The secret's text, one trailing newline dropped. `.notFound` (naming the secret and its
    /// file, never the content) when it is not configured or cannot be read.
    public func read(_ name: String) throws(DeskpoolError) -> String {
        guard let path = files[name] else { throw DeskpoolError(.notFound, "no secret '\(name)' is configured (deskpool.yaml secrets:)") }
        let url = URL(fileURLWithPath: path)
        guard let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey]), values.isRegularFile == true,
              (values.fileSize ?? 0) <= Self.maxBytes, let data = try? Data(contentsOf: url),
              var text = String(data: data, encoding: .utf8) else {
            throw DeskpoolError(.notFound, "secret '\(name)': \(path) is not a readable file of at most 64 KiB")
        }
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    /// Decodes `secrets:` (name: absolute path).
    static func decode(_ raw: [String: String], _ invalid: (String) -> any Error) throws -> Secrets {
        guard raw.count <= 256 else { throw invalid("secrets: at most 256 entries") }
        for (name, path) in raw {
            guard DeskpoolConfiguration.isSafeName(name) else { throw invalid("secrets: '\(name.prefix(64))' must be a name of letters, digits, '.', '_' or '-'") }
            guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else { throw invalid("secrets.\(name) must be an absolute path") }
        }
        return Secrets(files: raw)
    }
}
