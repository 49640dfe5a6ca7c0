import DeskpoolCore
import DeskpoolPAM
import DeskpoolTesting
import DeskpoolTestRigs
import PAM
import Testing

/// Real libpam in this process through pam_wrapper and pam_matrix: no root, no system
/// users. scripts/test runs these in a pass with
/// `LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=Tests/Fixtures/pam_wrapper`.
@Suite("PAM through pam_wrapper", .enabled(if: TestTier.pamWrapper.isEnabled, Comment(rawValue: TestTier.pamWrapper.skipReason)))
struct PAMWrapperTests {
    let authenticator = PAMAuthenticator(configuration: .init(service: "deskpool-test"))

    @Test("the right password logs in")
    func goodPassword() async throws {
        let account = try await authenticator.authenticate(user: "alice", password: "alice-secret", remoteHost: "192.0.2.10")
        #expect(account.user == "alice")
        // alice exists only in pam_matrix's file, not in the system's user database.
        #expect(account.groups.isEmpty)
        let bob = try await authenticator.authenticate(user: "bob", password: "correct horse battery staple")
        #expect(bob.user == "bob")
    }

    @Test("a wrong password is wrongCredentials, and the error never holds the password")
    func wrongPassword() async throws {
        let error = await #expect(throws: PAMError.self) {
            _ = try await authenticator.authenticate(user: "alice", password: "not-alices-secret")
        }
        #expect(error?.code == .wrongCredentials)
        #expect(error?.pamStatus != nil)
        #expect(error.map { !"\($0)".contains("not-alices-secret") } == true)
    }

    @Test("an unknown user is unknownUser where the module can tell (pam_unix)")
    func unknownUser() async throws {
        let nss = PAMAuthenticator(configuration: .init(service: "deskpool-test-nss"))
        let error = await #expect(throws: PAMError.self) {
            _ = try await nss.authenticate(user: "dptest-no-such-user", password: "whatever")
        }
        #expect(error?.code == .unknownUser)
    }

    @Test("pam_matrix reports an unknown user as a failed login, and so do we")
    func unknownMatrixUser() async throws {
        // pam_matrix answers PAM_AUTH_ERR for users missing from its file; the authenticator
        // reports what the stack says rather than guessing.
        let error = await #expect(throws: PAMError.self) {
            _ = try await authenticator.authenticate(user: "mallory", password: "whatever")
        }
        #expect(error?.code == .wrongCredentials)
    }

    @Test("an unknown service is a service error, not a silent fall-back to 'other'")
    func unknownService() async throws {
        let missing = PAMAuthenticator(configuration: .init(service: "deskpool-no-such-service"))
        let error = await #expect(throws: PAMError.self) {
            _ = try await missing.authenticate(user: "alice", password: "alice-secret")
        }
        #expect(error?.code == .serviceError)
        #expect(error?.message.contains("deskpool-no-such-service") == true)
    }

    @Test("a service whose module cannot load is a service error")
    func brokenService() async throws {
        let broken = PAMAuthenticator(configuration: .init(service: "deskpool-broken"))
        let error = await #expect(throws: PAMError.self) {
            _ = try await broken.authenticate(user: "alice", password: "alice-secret")
        }
        #expect(error?.code == .serviceError)
    }

    @Test("bad input is refused before PAM sees it")
    func badInput() async throws {
        for (user, password) in [("", "x"), ("al\u{0}ice", "x"), ("alice\n", "x"), ("alice", "a\u{0}b"), (String(repeating: "u", count: 300), "x")] {
            let error = await #expect(throws: PAMError.self) {
                _ = try await authenticator.authenticate(user: user, password: password)
            }
            #expect(error?.code == .invalidInput)
        }
    }

    @Test("many logins at once, bounded by maxConcurrent, all answered")
    func concurrentLogins() async throws {
        let bounded = PAMAuthenticator(configuration: .init(service: "deskpool-test", maxConcurrent: 3))
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<24 {
                group.addTask {
                    let good = index % 2 == 0
                    do {
                        _ = try await bounded.authenticate(user: "alice", password: good ? "alice-secret" : "wrong")
                        return good
                    } catch let error as PAMError {
                        return !good && error.code == .wrongCredentials
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.count == 24)
        #expect(outcomes.allSatisfy { $0 })
    }
}

// MARK: - Deskpool's logins through PAM

extension PAMWrapperTests {
    @Test("PAMLogin: the right password gives the principal; a wrong password and an unknown user get the same answer")
    func deskpoolLogin() async throws {
        let login = PAMLogin(authenticator: authenticator)
        let principal = try await login.authenticate(user: "alice", password: "alice-secret", from: "192.0.2.10")
        #expect(principal.user == "alice")
        let wrong = await #expect(throws: DeskpoolError.self) {
            _ = try await login.authenticate(user: "alice", password: "not-alices-secret", from: nil)
        }
        let unknown = await #expect(throws: DeskpoolError.self) {
            _ = try await PAMLogin(authenticator: PAMAuthenticator(configuration: .init(service: "deskpool-test-nss")))
                .authenticate(user: "dptest-no-such-user", password: "whatever", from: nil)
        }
        #expect(wrong?.code == .unauthenticated && unknown?.code == .unauthenticated)
        #expect(wrong?.message == unknown?.message, "which of user and password was wrong is never said")
        #expect(wrong.map { !"\($0)".contains("not-alices-secret") } == true)
    }
}
