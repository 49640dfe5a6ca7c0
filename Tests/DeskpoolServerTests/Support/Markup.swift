import Foundation

/// Just enough of a page's markup for tests: the start tags of an element, and their
/// attributes (as written, entities not decoded).
enum Markup {
    /// Every start tag `<name ...>` in `text`, without its brackets.
    static func tags(_ name: String, in text: String) -> [Substring] {
        text.components(separatedBy: "<\(name) ").dropFirst().map { $0.prefix { $0 != ">" } }
    }

    /// The value of `attribute="..."` in a start tag.
    static func attribute(_ attribute: String, _ tag: Substring) -> String? {
        guard let range = tag.range(of: " \(attribute)=\"") ?? (tag.hasPrefix("\(attribute)=\"") ? tag.range(of: "\(attribute)=\"") : nil)
        else { return nil }
        return String(tag[range.upperBound...].prefix { $0 != "\"" })
    }
}
