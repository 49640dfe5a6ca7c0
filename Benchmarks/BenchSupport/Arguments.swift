/// `--key value` options, shared by the benchmark executables.
public struct Arguments {
    private var values: [String: String] = [:]

    public init(_ arguments: ArraySlice<String>) {
        var iterator = arguments.makeIterator()
        while let key = iterator.next() {
            guard key.hasPrefix("--") else { fatalError("unexpected argument \(key)") }
            values[String(key.dropFirst(2))] = iterator.next() ?? ""
        }
    }

    public func string(_ key: String, _ fallback: String? = nil) -> String {
        guard let value = values[key] ?? fallback else { fatalError("missing --\(key)") }
        return value
    }

    public func int(_ key: String, _ fallback: Int) -> Int { values[key].flatMap { Int($0) } ?? fallback }
}

extension Duration {
    /// The duration in seconds, as a Double (for reports).
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
