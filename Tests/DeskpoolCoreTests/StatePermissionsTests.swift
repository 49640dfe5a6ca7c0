@testable import DeskpoolCore
import Testing

@Suite("State directory and secret file modes")
struct StatePermissionsTests {
    @Test("directory modes", arguments: [
        (0o700 as UInt16, false, true),
        (0o755, false, false),
        (0o750, false, false),
        (0o711, false, false),   // 0711 only when a storage pool lives inside
        (0o711, true, true),
        (0o701, true, true),
        (0o751, true, false),    // group may list: never
        (0o777, true, false),
    ])
    func directory(mode: UInt16, holdsPool: Bool, accepted: Bool) {
        let problem = StatePermissions.directoryProblem(path: "/var/lib/deskpool", mode: mode, holdsStoragePool: holdsPool)
        #expect((problem == nil) == accepted, "mode \(String(mode, radix: 8)), pool inside: \(holdsPool)")
        if let problem {
            #expect(problem.contains("chmod \(holdsPool ? "0711" : "0700") /var/lib/deskpool"))
            #expect(problem.contains(StatePermissions.octal(mode)))
        }
    }

    @Test("secret files: only the owner may read or write", arguments: [
        (0o600 as UInt16, true), (0o400, true), (0o644, false), (0o640, false), (0o604, false), (0o660, false),
    ])
    func secretFile(mode: UInt16, accepted: Bool) {
        let problem = StatePermissions.secretFileProblem(path: "/s/deskpool.sqlite", mode: mode)
        #expect((problem == nil) == accepted)
        if let problem { #expect(problem.contains("chmod 0600 /s/deskpool.sqlite")) }
    }

    @Test("doctor: problems fail the required check; a missing directory passes")
    func doctor() {
        #expect(DoctorRules.statePermissions(path: "/s", exists: false, problems: []).verdict == .pass)
        #expect(DoctorRules.statePermissions(path: "/s", exists: true, problems: []).verdict == .pass)
        let failed = DoctorRules.statePermissions(path: "/s", exists: true, problems: ["/s/k has mode 0644"])
        #expect(failed.verdict == .fail && failed.required)
        #expect(failed.detail.contains("/s/k has mode 0644"))
    }
}
