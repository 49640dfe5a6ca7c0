import Foundation

/// An Xvfb X server for a test: remote-viewer draws into it and `screenshot()` reads it back
/// (ImageMagick's `import`). Stopped by `stop()` or when the value goes away.
public final class VirtualDisplay: @unchecked Sendable {
    public static let xvfb = "/usr/bin/Xvfb"
    public static let importTool = "/usr/bin/import"

    public static var isAvailable: Bool {
        [xvfb, importTool, RemoteViewer.path].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// `:NN`, for `DISPLAY`.
    public let name: String
    private let process: Process

    /// Starts Xvfb on a free display number, 1280x800, 24 bits, and waits until it accepts clients.
    public init() throws {
        guard let number = (90..<190).shuffled().first(where: { !Self.taken($0) }) else {
            throw GuestConsole.Failure(description: "no free X display number in 90-189 (each has a live X server)")
        }
        name = ":\(number)"
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.xvfb)
        process.arguments = [name, "-screen", "0", "1280x800x24", "-nolisten", "tcp"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        while !FileManager.default.fileExists(atPath: "/tmp/.X11-unix/X\(number)") {
            guard process.isRunning, Date() < deadline else { throw GuestConsole.Failure(description: "Xvfb \(name) did not start") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Whether display `number` has a live X server: the pid in its lock file runs. A lock (and
    /// socket) left by a killed server is stale, and Xvfb takes the number over.
    static func taken(_ number: Int) -> Bool {
        guard let text = try? String(contentsOfFile: "/tmp/.X\(number)-lock", encoding: .utf8) else { return false }
        guard let pid = pid_t(text.filter(\.isNumber)) else { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    deinit { stop() }

    public func stop() {
        process.stop()
    }

    /// The whole screen as PNG bytes.
    public func screenshot() throws -> [UInt8] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-shot-\(UUID().uuidString).png")
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.importTool)
        process.arguments = ["-display", name, "-window", "root", file.path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        process.stop()
        return Array(try Data(contentsOf: file))
    }

    /// Waits until OCR of the screen satisfies `found`; the error carries the last reading.
    public func waitForText(_ what: String, timeout: Duration, until found: @Sendable (String) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        var last = ""
        while ContinuousClock.now < deadline {
            if let shot = try? screenshot(), let text = try? ScreenOCR.text(mimeType: "image/png", data: shot) {
                if found(text) { return }
                last = text
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw GuestConsole.Failure(description: "the screen did not show \(what) within \(timeout); OCR read:\n\(last)")
    }
}
