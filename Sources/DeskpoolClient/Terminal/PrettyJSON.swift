public import Foundation
import DeskpoolCore

/// JSON for people: indented, keys sorted, slashes left alone.
public enum PrettyJSON {
    /// Re-formats a JSON text (any top-level value).
    public static func format(_ data: Data) throws -> Data {
        let value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        return try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
    }

    /// Encodes a value with the API's coding (ISO 8601 dates), pretty.
    public static func encode(_ value: some Encodable) throws -> Data {
        try format(APIJSON.encoder().encode(value))
    }
}
