public import Foundation

/// Runs a host tool from a test (qemu-img, pgrep) and returns its standard output. Tests may
/// use tools to check what the product did; the product itself never shells out.
public enum Command {
    public static func output(_ path: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }
}
