import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Testing

/// `deskpool` run as a process against qemu:///system in a libvirt sandbox: its own state
/// directory, configuration, storage pool and template copy.
final class BrokerProcess: @unchecked Sendable {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let binary = repository.appendingPathComponent(".build/debug/deskpool").path

    let sandbox: LibvirtSandbox
    let state: String
    let config: String
    let log: String
    private var serve: Process?

    /// Writes the configuration (sandbox pool, fast sweeps, free ports for the HTTP side and
    /// the gateway, so a broker already running on this machine cannot keep this one from
    /// starting) and a copy of the tiny template with a boot timeout fit for TCG guests.
    init(sandbox: LibvirtSandbox, storagePool: String, orphanGraceSeconds: Int = 3) throws {
        self.sandbox = sandbox
        state = sandbox.directory + "-state"
        config = state + "/deskpool.yaml"
        log = state + "/serve.log"
        // The broker refuses a state directory other users can list (0700, as it makes one).
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.createDirectory(atPath: state + "/templates/tiny-linux", withIntermediateDirectories: true)
        try """
            stateDirectory: \(state)
            hosts:
              - name: local
                uri: qemu:///system
                storagePool: \(storagePool)
                storagePath: \(sandbox.directory)
                maxConcurrentOperations: 4
            http:
              port: \(try TCPProbe.freePort())
            gateway:
              port: \(try TCPProbe.freePort())
            broker:
              instance: \(sandbox.prefix.dropLast())
              sweepIntervalSeconds: 1
              backoffBaseSeconds: 2
              orphanGraceSeconds: \(orphanGraceSeconds)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let source = Self.repository.appendingPathComponent("templates/tiny-linux")
        try FileManager.default.copyItem(atPath: source.appendingPathComponent("domain.xml").path, toPath: state + "/templates/tiny-linux/domain.xml")
        try "vcpus: 1\nmemoryMiB: 256\nmachine: pc\nbootTimeoutSeconds: 900\ndomain: domain.xml\n"
            .write(toFile: state + "/templates/tiny-linux/template.yaml", atomically: true, encoding: .utf8)
    }

    /// A test that fails half-way must not leave its broker running.
    deinit { kill9() }

    var templateDirectory: String { state + "/templates/tiny-linux" }

    /// Applies the tiny template, publishes the tiny image `versions` times and applies the
    /// pool file `yaml` (the pool's keys), with the local admin commands.
    func prepare(versions: Int = 1, pool yaml: String) throws {
        try run(["local", "template", "apply", templateDirectory])
        for version in 1...versions {
            try run(["local", "template", "publish", "tiny-linux", "--file", TestTier.tinyImagePath, "--note", "v\(version)"])
        }
        let poolFile = state + "/pool.yaml"
        try yaml.write(toFile: poolFile, atomically: true, encoding: .utf8)
        try run(["local", "pool", "apply", poolFile])
    }

    /// Runs a `deskpool` command to completion; fails the test on a non-zero exit.
    @discardableResult
    func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments + ["--config", config]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            Issue.record("deskpool \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(output)")
        }
        return output
    }

    /// Starts `deskpool serve` in the background, appending to the log.
    func startServe() throws {
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--config", config]
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        serve = process
    }

    /// SIGKILL: no cleanup, no last writes.
    func kill9() {
        guard let serve else { return }
        kill(serve.processIdentifier, SIGKILL)
        serve.waitUntilExit()
        self.serve = nil
    }

    /// SIGTERM, then waits for the exit; returns the exit status (nil if it did not stop in time).
    func terminate(within seconds: Double) async -> Int32? {
        guard let serve else { return nil }
        serve.terminate()
        let deadline = Date().addingTimeInterval(seconds)
        while serve.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(100)) }
        guard !serve.isRunning else {
            kill(serve.processIdentifier, SIGKILL)
            return nil
        }
        self.serve = nil
        return serve.terminationStatus
    }

    func store() throws -> SQLiteStore {
        try SQLiteStore(path: state + "/deskpool.sqlite")
    }

    func logText() -> String {
        (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    }

    func removeState() {
        try? FileManager.default.removeItem(atPath: state)
    }
}
