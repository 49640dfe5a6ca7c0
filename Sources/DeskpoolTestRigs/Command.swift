public import Foundation

/// Runs a host tool from a test (qemu-img, pgrep) and returns its standard output. Tests may
/// use tools to check what the product did; the product itself never shells out.
public enum Command {
    public static func output(_ path: String, _ arguments: [String]) throws -> Data {
        try run(path, arguments, errorsToo: false).output
    }

    /// Standard output and error as text; throws when the tool exits non-zero (with its output).
    public static func text(_ path: String, _ arguments: [String]) throws -> String {
        let (status, data) = try run(path, arguments, errorsToo: true)
        let text = String(decoding: data, as: UTF8.self)
        guard status == 0 else {
            throw CommandFailure(description: "\(path) \(arguments.joined(separator: " ")) exited \(status): \(text.suffix(2000))")
        }
        return text
    }

    private static func run(_ path: String, _ arguments: [String], errorsToo: Bool) throws -> (status: Int32, output: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        if errorsToo { process.standardError = pipe }
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, data)
    }
}

public struct CommandFailure: Error, CustomStringConvertible {
    public let description: String
}

/// A self-signed certificate and key for 127.0.0.1 and localhost (openssl), in a directory
/// of their own that the caller removes.
public struct TestCertificate: Sendable {
    public let directory: URL
    public let certificateFile: String
    public let keyFile: String

    public static func make() throws -> TestCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (cert, key) = (directory.appendingPathComponent("cert.pem").path, directory.appendingPathComponent("key.pem").path)
        _ = try Command.text("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                                                   "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        return TestCertificate(directory: directory, certificateFile: cert, keyFile: key)
    }

    public func remove() { try? FileManager.default.removeItem(at: directory) }
}
