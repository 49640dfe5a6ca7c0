import Foundation

/// A patch reads like the section it patches (`console: {ticketSeconds: 20}`): decoding runs
/// the section's own strict decoder, so values are checked exactly as in a pool file, and
/// records which keys were given. Encoding writes back only those keys.
extension Patch: Codable {
    public init(from decoder: any Decoder) throws {
        let keys = try decoder.container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue)
        self.init(value: try Value(from: decoder), keys: Set(keys))
    }

    public func encode(to encoder: any Encoder) throws {
        let all = try JSONDecoder().decode([String: PatchScalar].self, from: JSONEncoder().encode(value))
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        for key in keys.sorted() {
            try c.encode(all[key] ?? .null, forKey: AnyCodingKey(stringValue: key))
        }
    }
}

/// One value of a patched section as JSON holds it (the sections have scalar keys only).
enum PatchScalar: Codable, Hashable {
    case bool(Bool), int(Int), double(Double), string(String), null

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let value = try? c.decode(Bool.self) { self = .bool(value) }
        else if let value = try? c.decode(Int.self) { self = .int(value) }
        else if let value = try? c.decode(Double.self) { self = .double(value) }
        else { self = .string(try c.decode(String.self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .bool(let value): try c.encode(value)
        case .int(let value): try c.encode(value)
        case .double(let value): try c.encode(value)
        case .string(let value): try c.encode(value)
        case .null: try c.encodeNil()
        }
    }
}
