/// A failure of a CLI command that is not the broker's answer: bad local input, a timeout,
/// a missing login. Printed as `error: MESSAGE`, with an optional hint line.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var hint: String?

    init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    var description: String { "error: \(message)" }
}
