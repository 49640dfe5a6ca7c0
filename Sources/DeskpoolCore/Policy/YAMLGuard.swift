// Yams' bundled libyaml: its event parser is the only way to see anchors, aliases and nesting
// before Yams composes the document (composing a billion-laughs file is cheap, but hashing
// an aliased mapping key, or walking the composed tree, is exponential). Yams exposes no event
// API, so this reads events from the same C parser Yams composes with.
internal import CYaml

/// Limits a policy file must stay within before it is composed and decoded: its size, one
/// document, no anchors or aliases, bounded nesting and node count. A file that breaks one is
/// refused with the place of the offending event.
struct YAMLGuard: Sendable {
    var maxBytes = 1 << 20
    var maxDepth = 32
    var maxNodes = 100_000

    /// Throws for the first limit `yaml` breaks. Syntax errors are left to the composer, which
    /// reports them with its own wording; scanning stops there.
    func check(_ yaml: String, file: String?) throws(ConfigurationError) {
        let size = yaml.utf8.count
        guard size <= maxBytes else {
            throw ConfigurationError(code: .tooLarge, file: file, line: 1, column: 1,
                                     message: "the file is \(size) bytes; policy files may be at most \(maxBytes) bytes")
        }
        let bytes = Array(yaml.utf8)
        let failure: (ConfigurationError.Code, Int, Int, String)? = bytes.withUnsafeBufferPointer { buffer in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            return scan(&parser)
        }
        if let (code, line, column, message) = failure {
            throw ConfigurationError(code: code, file: file, line: line, column: column, message: message)
        }
    }

    private func scan(_ parser: inout yaml_parser_t) -> (ConfigurationError.Code, Int, Int, String)? {
        var depth = 0, nodes = 0, documents = 0
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
            defer { yaml_event_delete(&event) }
            let line = Int(event.start_mark.line) + 1, column = Int(event.start_mark.column) + 1
            let anchor: UnsafeMutablePointer<yaml_char_t>?
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return nil
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    return (.unsupported, line, column, "a policy file holds one YAML document; this is a second one ('---')")
                }
                continue
            case YAML_ALIAS_EVENT:
                return (.unsupported, line, column, "anchors and aliases are not allowed in policy files")
            case YAML_SCALAR_EVENT:
                anchor = event.data.scalar.anchor
            case YAML_SEQUENCE_START_EVENT:
                anchor = event.data.sequence_start.anchor
                depth += 1
            case YAML_MAPPING_START_EVENT:
                anchor = event.data.mapping_start.anchor
                depth += 1
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                depth -= 1
                continue
            default:
                continue
            }
            if anchor != nil {
                return (.unsupported, line, column, "anchors and aliases are not allowed in policy files")
            }
            if depth > maxDepth {
                return (.tooLarge, line, column, "the file nests deeper than \(maxDepth) levels")
            }
            nodes += 1
            if nodes > maxNodes {
                return (.tooLarge, line, column, "the file has more than \(maxNodes) values")
            }
        }
    }
}
