import DeskpoolTesting
import DeskpoolTestRigs
import PAM
import Testing

/// Real pam_unix with real system users, made by `scripts/pam-real-users create` (as root):
/// a good one, one expired with `chage -E 0`, one locked with `usermod -L`, one whose
/// password must be changed (`chage -d 0`).
@Suite(
    "PAM with pam_unix and real users",
    .enabled(if: TestTier.realPAM.isEnabled && !TestTier.pamWrapper.isEnabled, Comment(rawValue: TestTier.realPAM.skipReason)))
struct RealPAMTests {
    let authenticator = PAMAuthenticator(configuration: .init(service: RealPAMUsers.service))

    @Test("the right password logs in and brings the user's groups")
    func good() async throws {
        let user = try RealPAMUsers().user("good")
        let account = try await authenticator.authenticate(user: user.name, password: user.password)
        #expect(account.user == user.name)
        #expect(account.groups.first == "dptest-users")
        #expect(account.groups.contains("dptest-admins"))
    }

    @Test("a wrong password is wrongCredentials")
    func wrong() async throws {
        let user = try RealPAMUsers().user("good")
        let error = await #expect(throws: PAMError.self) {
            _ = try await authenticator.authenticate(user: user.name, password: user.password + "-wrong")
        }
        #expect(error?.code == .wrongCredentials)
    }

    @Test("an unknown user is unknownUser")
    func unknown() async throws {
        let error = await #expect(throws: PAMError.self) {
            _ = try await authenticator.authenticate(user: "dptest-nobody-here", password: "x")
        }
        #expect(error?.code == .unknownUser)
    }

    @Test("an account that may not log in is refused with its reason, even with the right password", arguments: [
        ("expired", PAMError.Code.accountExpired),      // chage -E 0
        ("locked", .accountLocked),                      // usermod -L
        ("mustchange", .passwordExpired),                // chage -d 0
    ])
    func refused(role: String, code: PAMError.Code) async throws {
        let user = try RealPAMUsers().user(role)
        let error = await #expect(throws: PAMError.self) {
            _ = try await authenticator.authenticate(user: user.name, password: user.password)
        }
        #expect(error?.code == code)
    }
}
