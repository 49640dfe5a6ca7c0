/// Untrusted text made safe to record: control characters escaped (a name cannot forge a log
/// line or move the cursor of the terminal that reads it) and the length capped, with a marker
/// saying how much was cut. Used by the audit log's field caps and the log handler.
public enum SafeText {
    /// `text` with control, line-separator and bidirectional-override characters written as
    /// `\n`, `\r`, `\t` or `\u{XX}`, at most `limit` UTF-8 bytes long. `keepLines` leaves
    /// newlines and tabs as they are (multi-line details). A longer text ends in
    /// `...[cut N bytes]`, N counting the original bytes left out.
    public static func escaped(_ text: String, limit: Int, keepLines: Bool = false) -> String {
        let total = text.utf8.count
        var out = ""
        out.reserveCapacity(min(total, limit) + 8)
        var consumed = 0
        // Where the text would be cut if it turns out too long: room for the marker after it.
        let budget = max(0, limit - 24)
        var cutAt: (outBytes: Int, consumed: Int) = (0, 0)
        for scalar in text.unicodeScalars {
            let piece = escape(scalar, keepLines: keepLines)
            if out.utf8.count + piece.utf8.count > limit {
                let kept = String(decoding: out.utf8.prefix(cutAt.outBytes), as: UTF8.self)
                return kept + "...[cut \(total - cutAt.consumed) bytes]"
            }
            out += piece
            consumed += String(scalar).utf8.count
            if out.utf8.count <= budget { cutAt = (out.utf8.count, consumed) }
        }
        return out
    }

    /// Whether `scalar` is escaped by `escaped`.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    private static func escape(_ scalar: Unicode.Scalar, keepLines: Bool) -> String {
        guard needsEscape(scalar) else { return String(scalar) }
        switch scalar {
        case "\n": return keepLines ? "\n" : "\\n"
        case "\t": return keepLines ? "\t" : "\\t"
        case "\r": return "\\r"
        default: return "\\u{" + String(scalar.value, radix: 16) + "}"
        }
    }
}
