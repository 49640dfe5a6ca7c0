/// A desktop naming pattern such as `eng-{n:03}` or `lab{n}`: fixed text (letters, digits,
/// `.`, `_`, `-`) around exactly one counter, optionally zero-padded.
public struct NamePattern: Sendable, Hashable, Codable, CustomStringConvertible {
    public let prefix: String
    public let suffix: String
    /// Minimum digits of the counter (zero-padded).
    public let width: Int
    public var description: String { "\(prefix){n\(width > 0 ? ":0\(width)" : "")}\(suffix)" }

    public init?(_ text: String) {
        guard let open = text.firstIndex(of: "{"), let close = text[open...].firstIndex(of: "}") else { return nil }
        let prefix = String(text[..<open]), suffix = String(text[text.index(after: close)...])
        let counter = text[text.index(after: open)..<close]
        var width = 0
        if counter != "n" {
            guard counter.hasPrefix("n:0"), let w = Int(counter.dropFirst(3)), (1...9).contains(w) else { return nil }
            width = w
        }
        let fixed = prefix + suffix
        guard !fixed.contains("{"), !fixed.contains("}"),
              fixed.isEmpty || DeskpoolConfiguration.isSafeName("x" + fixed),
              prefix.isEmpty || DeskpoolConfiguration.isSafeName(prefix),
              fixed.count <= 48
        else { return nil }
        self.prefix = prefix
        self.suffix = suffix
        self.width = width
    }

    public func name(_ n: Int) -> String {
        let digits = String(n)
        return prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits + suffix
    }

    /// The lowest-numbered names (from 1) not in `taken`.
    public func freeNames(_ count: Int, excluding taken: Set<String>) -> [String] {
        var names: [String] = []
        var n = 1
        while names.count < count {
            let candidate = name(n)
            if !taken.contains(candidate) { names.append(candidate) }
            n += 1
        }
        return names
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let pattern = NamePattern(text) else {
            throw decoder.invalid("naming must be fixed text around one {n} or {n:0W} counter, such as eng-{n:03}, not '\(text)'")
        }
        self = pattern
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
