import Foundation

/// Some keys of a `Codable` section (a pool's `console:` or `session:`), as a policy names
/// them: `value` holds them decoded (and so validated like the pool file's section), `keys`
/// says which were given. Applying a patch replaces exactly those keys.
public struct Patch<Value: Codable & Sendable & Hashable>: Sendable, Hashable {
    public var value: Value
    public var keys: Set<String>

    public init(value: Value, keys: Set<String>) {
        self.value = value
        self.keys = keys
    }

    /// `base` with the patched keys taken from `value`.
    public func applied(to base: Value) throws(DeskpoolError) -> Value {
        do {
            let encoder = JSONEncoder()
            guard var target = try JSONSerialization.jsonObject(with: encoder.encode(base)) as? [String: Any],
                  let source = try JSONSerialization.jsonObject(with: encoder.encode(value)) as? [String: Any]
            else { throw DeskpoolError(.invalidInput, "a patched section is not an object") }
            for key in keys { target[key] = source[key] }
            return try JSONDecoder().decode(Value.self, from: JSONSerialization.data(withJSONObject: target))
        } catch let error as DeskpoolError {
            throw error
        } catch {
            throw DeskpoolError(.invalidInput, "cannot apply the policy's settings: \(error)")
        }
    }
}
