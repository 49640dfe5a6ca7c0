import Foundation
import DeskpoolTesting
import DeskpoolTestRigs
import PAM
import Testing

/// Real pam_unix (and pam_oath) with real system users, made by `scripts/pam-real-users create`
/// (as root): a good one, one expired with `chage -E 0`, one locked with `usermod -L`, two whose
/// password must be changed (`chage -d 0`), one with a TOTP secret.
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
    ])
    func refused(role: String, code: PAMError.Code) async throws {
        let user = try RealPAMUsers().user(role)
        let error = await #expect(throws: PAMError.self) {
            _ = try await authenticator.authenticate(user: user.name, password: user.password)
        }
        #expect(error?.code == code)
    }

    // MARK: - Conversations

    static func prompts(_ step: PAMStep) throws -> (prompts: [PAMPrompt], messages: [PAMMessage], conversation: PAMConversation) {
        guard case .prompts(let prompts, let messages, let conversation) = step else {
            throw PAMError(code: .moduleError, message: "expected prompts, got \(step)")
        }
        return (prompts, messages, conversation)
    }

    /// The TOTP code of `secret` (hex) for the time step `steps` steps of 30 s from now (pam_oath
    /// takes codes within its window; a later step is still new after an earlier one was used).
    static func code(_ secret: String, steps: Int = 0) throws -> String {
        let at = Int(Date().timeIntervalSince1970) + 30 * steps
        return try Command.text("/usr/bin/oathtool", ["--totp", "--now", "@\(at)", secret]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("a password that must change: the login goes on into pam_chauthtok, with pam_unix's message, and unanswered it changes nothing")
    func mustChange() async throws {
        let user = try RealPAMUsers().user("mustchange")
        let asked = try Self.prompts(try await authenticator.begin(user: user.name, password: user.password))
        #expect(asked.messages.contains { $0.text.localizedCaseInsensitiveContains("change your password") })
        #expect(asked.prompts.allSatisfy { !$0.echo })
        asked.conversation.cancel()
    }

    @Test("an expired password is changed in the same conversation (current, new, again), and then the new one logs in")
    func renew() async throws {
        let user = try RealPAMUsers().user("renew")
        let new = "Dp-" + UUID().uuidString.prefix(18)
        var step = try await authenticator.begin(user: user.name, password: user.password)
        var asked: [String] = []
        while case .prompts(let prompts, _, let conversation) = step {
            asked += prompts.map(\.text)
            #expect(asked.count <= 6, "the stack keeps asking: \(asked)")
            guard asked.count <= 6 else {
                conversation.cancel()
                return
            }
            step = await conversation.answer(prompts.map { $0.text.localizedCaseInsensitiveContains("current") ? user.password : String(new) })
        }
        guard case .done(.success(let account), _) = step else {
            Issue.record("the password change failed: \(step); asked \(asked)")
            return
        }
        #expect(account.user == user.name)
        #expect(asked.contains { $0.localizedCaseInsensitiveContains("new") })
        _ = try await authenticator.authenticate(user: user.name, password: String(new))
        let old = await #expect(throws: PAMError.self) {
            _ = try await authenticator.authenticate(user: user.name, password: user.password)
        }
        #expect(old?.code == .wrongCredentials)
    }

    @Test("pam_unix then pam_oath: the password, then the one-time code's prompt; a wrong code and a replayed one fail")
    func oneTimeCode() async throws {
        let otp = PAMAuthenticator(configuration: .init(service: "deskpool-test-otp"))
        let user = try RealPAMUsers().user("otp")
        let secret = try String(contentsOfFile: "/run/deskpool-rig/oath-secret", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

        let asked = try Self.prompts(try await otp.begin(user: user.name, password: user.password))
        #expect(asked.prompts.count == 1 && !asked.prompts[0].echo)
        let good = try Self.code(secret, steps: 1)
        guard case .done(.success(let account), _) = await asked.conversation.answer([good]) else {
            Issue.record("the right code did not log in")
            return
        }
        #expect(account.user == user.name)

        let replay = try Self.prompts(try await otp.begin(user: user.name, password: user.password))
        guard case .done(.failure(let replayed), _) = await replay.conversation.answer([good]) else {
            Issue.record("a replayed code logged in")
            return
        }
        #expect(replayed.code == .wrongCredentials)

        let wrong = try Self.prompts(try await otp.begin(user: user.name, password: user.password))
        let bad = String(format: "%06d", (Int(good)! + 1) % 1_000_000)
        guard case .done(.failure(let refused), _) = await wrong.conversation.answer([bad]) else {
            Issue.record("a wrong code logged in")
            return
        }
        #expect(refused.code == .wrongCredentials)
        #expect(!"\(refused)".contains(bad) && !"\(refused)".contains(user.password))

        // A wrong password stops at pam_unix (requisite): no code is asked.
        guard case .done(.failure(let early), _) = try await otp.begin(user: user.name, password: user.password + "x") else {
            Issue.record("a wrong password was asked for a code")
            return
        }
        #expect(early.code == .wrongCredentials)
    }
}
