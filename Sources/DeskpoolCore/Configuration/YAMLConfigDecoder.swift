import Foundation
import Yams

/// Decodes Deskpool's YAML files into configuration types, turning every failure into a
/// `ConfigurationError` with a line number.
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
            throw ConfigurationError(code: .malformed, file: file, line: line(of: error), message: "not valid YAML: \(error)")
        } catch {
            throw ConfigurationError(code: .malformed, file: file, message: "not valid YAML: \(error)")
        }
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
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return ConfigurationError(
                code: .invalidValue, file: file, line: node(at: context.codingPath, in: root)?.mark?.line,
                message: "\(path.isEmpty ? "value" : path): \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            let path = (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            return ConfigurationError(
                code: .invalidValue, file: file, line: node(at: context.codingPath, in: root)?.mark?.line,
                message: "\(path) is required")
        @unknown default:
            return ConfigurationError(code: .invalidValue, file: file, message: "\(error)")
        }
    }

    /// The node a coding path points at, for its line number.
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

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
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
            let line = (try? container.superDecoder(forKey: key))?.mark?.line
            throw ConfigurationError(
                code: .unknownKey, line: line,
                message: "unknown key '\(key.stringValue)' in \(section) (known keys: \(allowed.joined(separator: ", ")))")
        }
    }

    /// An invalid-value error pointing at this decoder's node.
    func invalid(_ message: String) -> ConfigurationError {
        ConfigurationError(code: .invalidValue, line: mark?.line, message: message)
    }
}
