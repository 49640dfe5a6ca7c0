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

// MARK: - Conversations

extension PAMWrapperTests {
    /// The prompts of a step that asks; fails the test on a decision.
    static func prompts(_ step: PAMStep) throws -> (prompts: [PAMPrompt], messages: [PAMMessage], conversation: PAMConversation) {
        guard case .prompts(let prompts, let messages, let conversation) = step else {
            Issue.record("expected prompts, got \(step)")
            throw PAMError(code: .moduleError, message: "no prompts")
        }
        return (prompts, messages, conversation)
    }

    @Test("a stack that asks twice: the given password answers the hidden prompt, the shown one comes back; a wrong answer fails it")
    func twoPrompts() async throws {
        let two = PAMAuthenticator(configuration: .init(service: "deskpool-test-two"))
        let asked = try Self.prompts(try await two.begin(user: "carol", password: "carol-secret"))
        #expect(asked.prompts.count == 1 && asked.prompts[0].echo)
        guard case .done(.success(let account), _) = await asked.conversation.answer(["carol-secret"]) else {
            Issue.record("the second answer did not log in")
            return
        }
        #expect(account.user == "carol")

        // Without a password, both prompts are the user's, one step each.
        let first = try Self.prompts(try await two.begin(user: "carol", password: nil))
        #expect(first.prompts.map(\.echo) == [false])
        let second = try Self.prompts(await first.conversation.answer(["carol-secret"]))
        #expect(second.prompts.map(\.echo) == [true])
        guard case .done(.failure(let error), _) = await second.conversation.answer(["not-carols"]) else {
            Issue.record("a wrong second answer did not fail")
            return
        }
        #expect(error.code == .wrongCredentials)
        #expect(!"\(error)".contains("not-carols") && !"\(error)".contains("carol-secret"))
    }

    @Test("messages without a prompt reach the caller with their kind, in order, and the login goes on")
    func messagesOnly() async throws {
        let chatty = PAMAuthenticator(configuration: .init(service: "deskpool-test-chatty"))
        guard case .done(.success(let account), let messages) = try await chatty.begin(user: "dan", password: "dan-secret") else {
            Issue.record("the chatty stack did not log in")
            return
        }
        #expect(account.user == "dan")
        // pam_chatty says its info lines, then its error lines (num_lines=2 gives three of each
        // in the version Debian 12 ships); every one reaches the caller, as said and in order.
        let infos = messages.prefix { !$0.error }, errors = messages.drop { !$0.error }
        #expect(infos.count >= 2 && errors.count >= 2 && errors.allSatisfy(\.error))
        #expect(infos.allSatisfy { $0.text == "Authentication succeeded" } && errors.allSatisfy { $0.text == "Authentication generated an error" })
        #expect(messages.allSatisfy { !$0.text.isEmpty && !$0.text.contains("dan-secret") })
    }

    @Test("an unanswered prompt ends the conversation after the answer window; a late answer is refused")
    func unanswered() async throws {
        let two = PAMAuthenticator(configuration: .init(service: "deskpool-test-two", answerWindow: .milliseconds(300)))
        let asked = try Self.prompts(try await two.begin(user: "carol", password: "carol-secret"))
        try await Task.sleep(for: .milliseconds(800))
        guard case .done(.failure(let error), _) = await asked.conversation.answer(["carol-secret"]) else {
            Issue.record("a late answer was taken")
            return
        }
        #expect(error.code == .timedOut)
    }

    @Test("open conversations hold their threads: beyond maxConcurrent a login waits maxWait, then is refused; a cancel frees the slot")
    func threadBound() async throws {
        let bounded = PAMAuthenticator(configuration: .init(service: "deskpool-test-two", maxConcurrent: 2, maxWait: .milliseconds(500)))
        let first = try Self.prompts(try await bounded.begin(user: "carol", password: "carol-secret"))
        let second = try Self.prompts(try await bounded.begin(user: "carol", password: "carol-secret"))
        guard case .done(.failure(let error), _) = try await bounded.begin(user: "carol", password: "carol-secret") else {
            Issue.record("a third conversation got a thread")
            return
        }
        #expect(error.code == .timedOut && error.message.contains("no free login slot"))
        first.conversation.cancel()
        second.conversation.cancel()
        // The cancelled threads end (PAM gets no answer and fails), and their slots serve again.
        let again = try Self.prompts(try await bounded.begin(user: "carol", password: "carol-secret"))
        guard case .done(.success, _) = await again.conversation.answer(["carol-secret"]) else {
            Issue.record("no login after the slots were freed")
            return
        }
    }

    @Test("PAMLogin: a conversation's steps and a refusal's messages as the broker's types")
    func deskpoolConversation() async throws {
        let login = PAMLogin(authenticator: PAMAuthenticator(configuration: .init(service: "deskpool-test-two")))
        guard case .asking(let prompts, _, let conversation) = await login.begin(user: "carol", password: "carol-secret", service: nil, from: nil) else {
            Issue.record("no prompts")
            return
        }
        #expect(prompts.map(\.echo) == [true])
        guard case .authenticated(let principal, let service, _) = await conversation.answer(["carol-secret"]) else {
            Issue.record("not authenticated")
            return
        }
        #expect(principal.user == "carol" && service == "deskpool-test-two")
        // A pool's factor names its own service.
        guard case .authenticated(_, let factor, let messages) = await login.begin(user: "dan", password: "dan-secret", service: "deskpool-test-chatty", from: nil) else {
            Issue.record("the factor's service did not log in")
            return
        }
        #expect(factor == "deskpool-test-chatty" && messages.contains { $0.kind == .error })
    }
}
