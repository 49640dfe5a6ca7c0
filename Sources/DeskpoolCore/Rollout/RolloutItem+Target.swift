/// What a rollout item's desktop is on, and moves to, as values: an image version (an
/// UpdatePolicy) or a configuration generation (a ConfigPolicy). Stored and shown as text
/// ("v2", "generation 3"), read back here; the rollout rules compare these, never text.
extension RolloutItem {
    public enum Target: Sendable, Hashable, CustomStringConvertible {
        case version(Int)
        case generation(Int)
        /// Text that is neither (commands and checks change nothing: it is kept as it is).
        case other(String)

        public init(_ text: String) {
            if text.hasPrefix("v"), let number = Int(text.dropFirst()) {
                self = .version(number)
            } else if text.hasPrefix("generation "), let number = Int(text.dropFirst("generation ".count)) {
                self = .generation(number)
            } else {
                self = .other(text)
            }
        }

        public var description: String {
            switch self {
            case .version(let number): "v\(number)"
            case .generation(let number): "generation \(number)"
            case .other(let text): text
            }
        }

        public var version: Int? { if case .version(let n) = self { n } else { nil } }
    }

    /// What the desktop was on when the rollout reached it.
    public var fromTarget: Target { Target(from) }
    /// What the rollout moves it to.
    public var toTarget: Target { Target(to) }
}
