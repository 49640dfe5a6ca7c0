import DeskpoolTesting
import Foundation
public import Libvirt
import Synchronization

/// What a test can see of a real guest: programs run through its agent, and text on its
/// console read by OCR from a libvirt screenshot.
public enum GuestConsole {
    /// Words tesseract reads on the console font; names made of them (not hex) can be
    /// checked on screen.
    public static let ocrFriendlyWords = ["kestrel", "harbour", "meadow", "lantern", "violet", "copper", "falcon", "marble", "cedar", "pepper"]

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Runs a program in the guest through the agent (guest-exec) and returns its standard
    /// output; a non-zero exit status is a `Failure`.
    public static func exec(_ domain: Domain, path: String, arguments: [String]) async throws -> String {
        struct Started: Decodable { struct Return: Decodable { let pid: Int }; let `return`: Return }
        struct Status: Decodable {
            struct Return: Decodable {
                let exited: Bool
                let exitcode: Int?
                let outData: String?
                enum CodingKeys: String, CodingKey { case exited, exitcode, outData = "out-data" }
            }
            let `return`: Return
        }
        let request: [String: Any] = [
            "execute": "guest-exec",
            "arguments": ["path": path, "arg": arguments, "capture-output": true],
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        let started = try JSONDecoder().decode(Started.self, from: Data(try await domain.agentCommand(json, timeout: .seconds(30)).utf8))
        return try await withTimeout(.seconds(60), "\(path) to finish in the guest") {
            while true {
                let answer = try await domain.agentCommand(
                    #"{"execute":"guest-exec-status","arguments":{"pid":\#(started.return.pid)}}"#, timeout: .seconds(30))
                let status = try JSONDecoder().decode(Status.self, from: Data(answer.utf8)).return
                if status.exited {
                    guard status.exitcode == 0 else { throw Failure(description: "\(path) exited \(status.exitcode ?? -1) in the guest") }
                    return String(decoding: Data(base64Encoded: status.outData ?? "") ?? Data(), as: UTF8.self)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Takes screenshots until OCR finds `text` on one line of the console (a boot line or a
    /// message may still be on its way to the screen). On timeout, the failure holds what OCR
    /// read last.
    public static func waitForScreen(_ domain: Domain, toShow text: String, deadline: Duration = .seconds(60)) async throws {
        try await waitForOCR(domain, "the console to show '\(text)'", deadline: deadline) { ScreenOCR.line(of: $0, shows: text) }
    }

    /// Waits until the console shows the tiny guest's `DESKPOOL-GUEST name=NAME` line for
    /// this name. tesseract misreads a letter now and then on the console font (w as u, c as
    /// e), so the name read may differ from `name` by at most two letters, and its last
    /// character (the desktop counter, which tells desktops of one pool apart) must match,
    /// reading a letter tesseract mistakes for a digit (Z, l, O) as that digit.
    /// The exact name is checked through the guest agent as well.
    public static func waitForName(_ domain: Domain, _ name: String, deadline: Duration = .seconds(120)) async throws {
        try await waitForOCR(domain, "the console to show the name '\(name)'", deadline: deadline) { shows(name: name, on: $0) }
    }

    /// Whether OCR text of a screen shows the guest's `DESKPOOL-GUEST name=NAME` line for `name`.
    public static func shows(name: String, on screen: String) -> Bool {
        namesShown(on: screen).contains { nearlyEqual($0, name) }
    }

    private static func waitForOCR(_ domain: Domain, _ what: String, deadline: Duration, until found: @escaping @Sendable (String) -> Bool) async throws {
        guard ScreenOCR.isAvailable else {
            throw Failure(description: "tesseract is missing: apt-get install tesseract-ocr (scripts/setup-host does)")
        }
        let last = Mutex("")
        do {
            try await withTimeout(deadline, what) {
                while true {
                    let shot = try await domain.screenshot()
                    let screen = try ScreenOCR.text(mimeType: shot.mimeType, data: shot.data)
                    if found(screen) { return }
                    last.withLock { $0 = screen }
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
        } catch let error as TimeoutError {
            throw Failure(description: "\(error); OCR read:\n\(last.withLock { $0 })")
        }
    }

    /// The values of `DESKPOOL-GUEST name=...` lines OCR found (spaces dropped, dashes as hyphens).
    static func namesShown(on screen: String) -> [String] {
        screen.split(separator: "\n").compactMap { line in
            let text = ScreenOCR.normalized(String(line))
            // tesseract reads the '=' as '-' now and then (CI saw "DESKPOOL-GUEST name-...").
            guard let range = text.range(of: "DESKPOOL-GUESTname"), let sign = text[range.upperBound...].first,
                  sign == "=" || sign == "-" else { return nil }
            return String(text[range.upperBound...].dropFirst())
        }
    }

    /// Whether an OCR reading of a name is this name: the same last character, at most two
    /// letters inserted, dropped or changed.
    public static func nearlyEqual(_ read: String, _ expected: String) -> Bool {
        // A digit is expected last: letters tesseract reads for digits count as those digits.
        let lookalikes: [Character: Character] = ["Z": "2", "z": "2", "l": "1", "I": "1", "|": "1", "O": "0", "o": "0", "S": "5", "B": "8"]
        let lastRead = read.last.map { expected.last?.isNumber == true ? lookalikes[$0] ?? $0 : $0 }
        guard lastRead == expected.last else { return false }
        let a = Array(read), b = Array(expected)
        // Levenshtein distance, one row at a time.
        var row = Array(0...b.count)
        for i in a.indices {
            var next = [i + 1]
            for j in b.indices {
                next.append(min(row[j + 1] + 1, next[j] + 1, row[j] + (a[i] == b[j] ? 0 : 1)))
            }
            row = next
        }
        return row[b.count] <= 2
    }
}
