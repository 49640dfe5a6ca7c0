/// One line of `deskpool doctor`: what was checked, the verdict, and what to do about it.
public struct DoctorCheck: Sendable, Hashable {
    public enum Verdict: String, Sendable, Hashable {
        case pass = "ok"
        case warn = "warn"
        case fail = "FAIL"
    }

    public let name: String
    public let verdict: Verdict
    /// A failing required check makes the host unfit for Deskpool (exit status 1); a failing
    /// optional one is reported only.
    public let required: Bool
    public let detail: String
    /// What to do, for any verdict but `pass`.
    public let hint: String?

    public init(name: String, verdict: Verdict, required: Bool = true, detail: String, hint: String? = nil) {
        self.name = name
        self.verdict = verdict
        self.required = required
        self.detail = detail
        self.hint = hint
    }
}

/// All of `deskpool doctor`'s checks.
public struct DoctorReport: Sendable, Hashable {
    public let checks: [DoctorCheck]

    public init(checks: [DoctorCheck]) { self.checks = checks }

    /// Whether every required check passed (warnings allowed).
    public var isHealthy: Bool { !checks.contains { $0.required && $0.verdict == .fail } }

    /// 0 when healthy, 1 when a required check failed.
    public var exitStatus: Int32 { isHealthy ? 0 : 1 }

    /// The report as the admin reads it.
    public func rendered() -> String {
        let width = checks.map(\.name.count).max() ?? 0
        var lines: [String] = []
        for check in checks {
            let tag = "[\(check.verdict.rawValue)]".padding(toLength: 6, withPad: " ", startingAt: 0)
            lines.append("\(tag) \(check.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(check.detail)")
            if let hint = check.hint, check.verdict != .pass {
                lines.append("       \(String(repeating: " ", count: width))  hint: \(hint)")
            }
        }
        let failed = checks.filter { $0.required && $0.verdict == .fail }.count
        let warned = checks.filter { $0.verdict == .warn || (!$0.required && $0.verdict == .fail) }.count
        lines.append(isHealthy
            ? "This host can run Deskpool (\(warned) warning\(warned == 1 ? "" : "s"))."
            : "This host cannot run Deskpool yet: \(failed) required check\(failed == 1 ? "" : "s") failed.")
        return lines.joined(separator: "\n")
    }
}
