#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Runs remote-viewer (or another viewer) on a `.vv` file and waits for it.
struct Viewer {
    var program: String
    var kiosk: Bool

    /// The viewer's arguments (without the program).
    func arguments(file: String) -> [String] {
        (kiosk ? ["--kiosk", "--kiosk-quit=on-disconnect"] : []) + [file]
    }

    /// Writes the `.vv` to a new private file (0600) in the temporary directory.
    static func writePrivateFile(_ text: String) throws -> String {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(directory)/deskpool-XXXXXX.vv".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 3) }
        guard fd >= 0 else { throw CLIError("cannot create a file for the .vv in \(directory): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        fchmod(fd, 0o600)
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                unlink(path)
                throw CLIError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        return path
    }

    /// Starts the viewer with the file, waits for it and returns its exit status (128 + the
    /// signal if a signal ended it). Ctrl-C reaches the viewer; this process outlives it to
    /// remove the file (remote-viewer removes it itself after reading: `delete-this-file`).
    func run(file: String) throws -> Int32 {
        let argv = [program] + arguments(file: file)
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGQUIT, SIGTERM, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))

        // Like system(3): while the viewer runs, Ctrl-C is its business.
        let oldInt = signal(SIGINT, SIG_IGN), oldQuit = signal(SIGQUIT, SIG_IGN)
        defer {
            signal(SIGINT, oldInt)
            signal(SIGQUIT, oldQuit)
        }
        var pid = pid_t()
        let result = posix_spawnp(&pid, program, nil, &attributes, &cArguments, environ)
        guard result == 0 else {
            let hint = program == "remote-viewer" ? "install virt-viewer, or give --viewer PATH (or --print to get the .vv file)" : nil
            throw CLIError("cannot run the viewer \(program): \(String(cString: strerror(result)))", hint: hint)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw CLIError("lost the viewer: \(String(cString: strerror(errno)))") }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
