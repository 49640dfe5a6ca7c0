#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Shows progress on standard error: on a terminal one line redrawn in place with `\r`; in a
/// file or pipe a plain line each time the text changes.
public final class ProgressLine: @unchecked Sendable {
    // Used from one task at a time (the command's), so unsynchronized state is fine.
    private let redraw: Bool
    private var last: String?
    private var shown = false

    /// - Parameter redraw: redraw in place (default: when standard error is a terminal).
    public init(redraw: Bool? = nil) {
        self.redraw = redraw ?? (isatty(STDERR_FILENO) == 1)
    }

    /// What `show(_:)` writes for a text, given the previous one (nil: nothing to write).
    static func output(for text: String, previous: String?, redraw: Bool) -> String? {
        if redraw { return "\r" + text + "\u{1B}[K" }
        return text == previous ? nil : text + "\n"
    }

    public func show(_ text: String) {
        guard let output = Self.output(for: text, previous: last, redraw: redraw) else { return }
        last = text
        shown = true
        writeError(output)
    }

    /// Ends the redrawn line (a newline), so what follows starts on its own line.
    public func finish(_ text: String? = nil) {
        if let text { show(text) }
        if redraw && shown { writeError("\n") }
        shown = false
        last = nil
    }
}

/// Writes text to standard error, unbuffered.
public func writeError(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if written < 0 { if errno == EINTR { continue } else { return } }
        offset += written
    }
}
