import Foundation
import Yams

/// Decodes Deskpool's YAML files into configuration types, turning every failure into a
/// `ConfigurationError` with a line and column.
public enum YAMLConfigDecoder {
    public static func decode<T: Decodable>(_ type: T.Type, yaml: String, file: String? = nil) throws(ConfigurationError) -> T {
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: yaml) else {
                throw ConfigurationError(code: .malformed, file: file, line: 1, message: "the file is empty")
            }
            node = composed
        } catch let error as ConfigurationError {
            throw error
        } catch let error as YamlError {
            let mark = mark(of: error)
            throw ConfigurationError(code: .malformed, file: file, line: mark?.line, column: mark?.column, message: message(of: error))
        } catch {
            throw ConfigurationError(code: .malformed, file: file, message: "not valid YAML: \(error)")
        }
        return try decode(type, node: node, file: file)
    }

    /// Decodes an already composed document.
    static func decode<T: Decodable>(_ type: T.Type, node: Node, file: String?) throws(ConfigurationError) -> T {
        do {
            return try YAMLDecoder().decode(type, from: node)
        } catch var error as ConfigurationError {
            error.file = file
            throw error
        } catch let error as DecodingError {
            throw describe(error, in: node, file: file)
        } catch {
            throw ConfigurationError(code: .invalidValue, file: file, message: "\(error)")
        }
    }

    /// Reads and decodes a file.
    public static func decode<T: Decodable>(_ type: T.Type, file: String) throws(ConfigurationError) -> T {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigurationError(code: .unreadable, file: file, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try decode(type, yaml: text, file: file)
    }

    private static func describe(_ error: DecodingError, in root: Node, file: String?) -> ConfigurationError {
        switch error {
        case .typeMismatch(let type, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            let found = node(at: context.codingPath, in: root)
            guard let expected = expectation(type) else { fallthrough }
            let shown = found?.scalar.map { "'\($0.string)'" } ?? (found?.mapping != nil ? "a mapping" : "a list")
            return ConfigurationError(
                code: .invalidValue, file: file, line: found?.mark?.line, column: found?.mark?.column,
                message: "\(path.isEmpty ? "the value" : path) must be \(expected), not \(shown)")
        case .valueNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            let mark = node(at: context.codingPath, in: root)?.mark
            return ConfigurationError(
                code: .invalidValue, file: file, line: mark?.line, column: mark?.column,
                message: "\(path.isEmpty ? "value" : path): \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            let path = (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            let mark = node(at: context.codingPath, in: root)?.mark
            return ConfigurationError(
                code: .invalidValue, file: file, line: mark?.line, column: mark?.column,
                message: "\(path) is required")
        @unknown default:
            return ConfigurationError(code: .invalidValue, file: file, message: "\(error)")
        }
    }

    /// What a value of `type` looks like in a file, for type mismatch errors.
    private static func expectation(_ type: Any.Type) -> String? {
        switch type {
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type, is UInt64.Type: "a whole number"
        case is Double.Type, is Float.Type: "a number"
        case is String.Type, is Node.Scalar.Type: "a single value"
        case is Node.Mapping.Type: "a mapping (key: value)"
        case is Node.Sequence.Type: "a list"
        default: nil
        }
    }

    /// The node a coding path points at, for its line and column.
    private static func node(at path: [any CodingKey], in root: Node) -> Node? {
        var current = root
        for key in path {
            if let index = key.intValue, let sequence = current.sequence, index < sequence.count {
                current = sequence[index]
            } else if let mapping = current.mapping, let value = mapping[Node(key.stringValue)] {
                current = value
            } else {
                return current
            }
        }
        return current
    }

    /// What is wrong with text that is not valid YAML.
    static func message(of error: YamlError) -> String {
        if case .duplicatedKeysInMapping(let keys, _) = error {
            return "not valid YAML: a key is given twice in one mapping: \(keys.map { "'\($0)'" }.joined(separator: ", "))"
        }
        return "not valid YAML: \(error)"
    }

    static func mark(of error: YamlError) -> Mark? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark
        case .duplicatedKeysInMapping(_, let context):
            return context.mark
        default:
            return nil
        }
    }
}

/// Any key, to list what a mapping holds.
struct AnyCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int? = nil
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// Refuses keys `K` does not name: a typo in a config file must not be ignored silently.
    func rejectUnknownKeys<K: CodingKey & CaseIterable>(_ keys: K.Type, in section: String) throws {
        let container = try self.container(keyedBy: AnyCodingKey.self)
        let allowed = K.allCases.map(\.stringValue)
        for key in container.allKeys where !allowed.contains(key.stringValue) {
            let mark = (try? container.superDecoder(forKey: key))?.mark
            throw ConfigurationError(
                code: .unknownKey, line: mark?.line, column: mark?.column,
                message: "unknown key '\(key.stringValue)' in \(section) (known keys: \(allowed.joined(separator: ", ")))")
        }
    }

    /// An invalid-value error pointing at this decoder's node.
    func invalid(_ message: String) -> ConfigurationError {
        ConfigurationError(code: .invalidValue, line: mark?.line, column: mark?.column, message: message)
    }
}
