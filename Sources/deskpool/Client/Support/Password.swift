#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a password: from the first line of standard input (`--password-stdin`), or from
/// the terminal with echo off. Never echoed, printed or logged.
enum Password {
    static func obtain(fromStdin: Bool, user: String, server: String) throws -> String {
        let password: String
        if fromStdin {
            guard let line = readLine(strippingNewline: true) else { throw CLIError("no password on standard input") }
            password = line.hasSuffix("\r") ? String(line.dropLast()) : line
        } else if isatty(STDIN_FILENO) == 1 {
            password = try prompt("Password for \(user) at \(server): ")
        } else {
            throw CLIError("standard input is not a terminal, so the password cannot be asked for",
                           hint: "give it on standard input with --password-stdin")
        }
        guard !password.isEmpty else { throw CLIError("the password is empty") }
        return password
    }

    /// The terminal's settings while echo is off, for the SIGINT handler to put back.
    nonisolated(unsafe) private static var saved = termios()

    /// Asks on standard error and reads a line from the terminal on standard input with echo
    /// off; Ctrl-C puts echo back before the process ends.
    static func prompt(_ text: String) throws -> String {
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { throw CLIError("cannot read the terminal's settings") }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        quiet.c_lflag |= tcflag_t(ECHONL)
        writeStandardError(text)
        let previous = signal(SIGINT) { _ in
            tcsetattr(STDIN_FILENO, TCSANOW, &Password.saved)
            _exit(130)
        }
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            signal(SIGINT, previous)
        }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(STDIN_FILENO, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 || byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func writeStandardError(_ text: String) {
        _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    }
}
