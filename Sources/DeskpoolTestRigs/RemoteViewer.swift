import Foundation

/// A real `remote-viewer` (virt-viewer) process on a `VirtualDisplay`, opening a `.vv` file,
/// with its `--debug` output collected in a file (a pipe could fill up and stall it).
public final class RemoteViewer: @unchecked Sendable {
    public static let path = "/usr/bin/remote-viewer"

    private let process: Process
    private let log: URL

    /// Starts remote-viewer on `file`. With `kiosk`, it runs full screen and exits when the
    /// server disconnects it (`--kiosk --kiosk-quit=on-disconnect`).
    public init(file: String, display: VirtualDisplay, kiosk: Bool = false) throws {
        log = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-viewer-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.path)
        process.arguments = ["--debug"] + (kiosk ? ["--kiosk", "--kiosk-quit=on-disconnect"] : []) + [file]
        var environment = ProcessInfo.processInfo.environment
        environment["DISPLAY"] = display.name
        environment["G_MESSAGES_DEBUG"] = "all"
        environment["NO_AT_BRIDGE"] = "1"
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: log)
    }

    public var isRunning: Bool { process.isRunning }
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Everything remote-viewer printed so far.
    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    public func stop() {
        process.stop()
    }

    /// Waits until the output contains `text`.
    public func waitForOutput(_ text: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while !output.contains(text) {
            guard ContinuousClock.now < deadline else {
                throw GuestConsole.Failure(description: "remote-viewer did not print '\(text)' within \(timeout); it printed:\n\(output.suffix(3000))")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Waits for the process to exit; returns its status, or nil if it still runs at the deadline.
    public func waitForExit(timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(100))
        }
        return process.terminationStatus
    }
}
