import Foundation
import Yams

/// Reads policy files (`policies/*.yaml`). A file with any error is refused whole, with its
/// path, the line and column of the offending node and the reason; nothing of it is used.
///
/// Before the YAML is composed, the file must be at most 1 MiB, hold one document, use no
/// anchors or aliases (`&a`, `*a`: a few lines of aliases expand to billions of nodes), nest
/// at most 32 levels and have at most 100,000 values.
public enum PolicyFile {
    /// The largest policy file, in bytes.
    public static let maxBytes = 1 << 20
    /// The deepest nesting of mappings and sequences.
    public static let maxDepth = 32
    /// The most values (scalars, mappings, sequences) in one file.
    public static let maxNodes = 100_000

    private static let limits = YAMLGuard(maxBytes: maxBytes, maxDepth: maxDepth, maxNodes: maxNodes)

    /// Decodes the text of one policy file; `file` is only used in errors.
    public static func decode(yaml: String, file: String? = nil) throws(ConfigurationError) -> Policy {
        try decodeNamed(yaml: yaml, file: file).policy
    }

    /// Reads and decodes one policy file.
    public static func load(file: String) throws(ConfigurationError) -> Policy {
        try decodeNamed(yaml: read(file), file: file).policy
    }

    /// Every `*.yaml` and `*.yml` file of `directory` (not its subdirectories, not hidden
    /// files), in file name order. Two files with the same `metadata.name` are an error naming
    /// both.
    public static func loadDirectory(_ directory: String) throws(ConfigurationError) -> [Policy] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ConfigurationError(code: .unreadable, file: directory, message: "cannot list the directory: \(error.localizedDescription)")
        }
        let files = names.filter { !$0.hasPrefix(".") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) }.sorted()
        var policies: [Policy] = []
        var seen: [String: String] = [:]
        for name in files {
            let path = (directory as NSString).appendingPathComponent(name)
            let (policy, mark) = try decodeNamed(yaml: read(path), file: path)
            if let first = seen[policy.name] {
                throw ConfigurationError(code: .duplicateName, file: path, line: mark?.line, column: mark?.column,
                                         message: "policy name '\(policy.name)' is also used by \(first)")
            }
            seen[policy.name] = path
            policies.append(policy)
        }
        return policies
    }

    // MARK: - Reading

    /// The policy and where its `metadata.name` is, for errors that involve other files.
    static func decodeNamed(yaml: String, file: String?) throws(ConfigurationError) -> (policy: Policy, nameMark: Mark?) {
        try limits.check(yaml, file: file)
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: yaml) else {
                throw ConfigurationError(code: .malformed, file: file, line: 1, column: 1, message: "the file is empty")
            }
            node = composed
        } catch let error as ConfigurationError {
            throw error
        } catch let error as YamlError {
            let mark = YAMLConfigDecoder.mark(of: error)
            throw ConfigurationError(code: .malformed, file: file, line: mark?.line, column: mark?.column, message: YAMLConfigDecoder.message(of: error))
        } catch {
            throw ConfigurationError(code: .malformed, file: file, message: "not valid YAML: \(error)")
        }
        guard node.mapping != nil else {
            throw ConfigurationError(code: .invalidValue, file: file, line: node.mark?.line, column: node.mark?.column,
                                     message: "a policy file is a mapping of apiVersion, kind, metadata and spec")
        }
        let policy = try YAMLConfigDecoder.decode(Policy.self, node: node, file: file)
        return (policy, node["metadata"]?["name"]?.mark)
    }

    /// The file's text, refusing a file over the size limit before reading it all.
    private static func read(_ path: String) throws(ConfigurationError) -> String {
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw ConfigurationError(code: .unreadable, file: path, message: "cannot read the file: \(error.localizedDescription)")
        }
        guard data.count <= maxBytes else {
            throw ConfigurationError(code: .tooLarge, file: path, line: 1, column: 1,
                                     message: "the file is over \(maxBytes) bytes, the most a policy file may be")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(code: .malformed, file: path, message: "the file is not UTF-8 text")
        }
        return text
    }
}
