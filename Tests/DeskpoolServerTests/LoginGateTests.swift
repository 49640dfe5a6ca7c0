import DeskpoolCore
import DeskpoolServer
import DeskpoolStore
import Foundation
import Synchronization
import Testing

/// An authenticator that takes `delay` per call and counts calls (and the most at once).
final class SlowAuthenticator: Authenticator {
    let passwords: [String: String]
    let delay: Duration
    private let state = Mutex((calls: 0, running: 0, most: 0))

    init(_ passwords: [String: String], delay: Duration = .milliseconds(200)) {
        self.passwords = passwords
        self.delay = delay
    }

    var calls: Int { state.withLock { $0.calls } }
    var most: Int { state.withLock { $0.most } }

    func begin(user: String, password: String?, service: String?, from address: String?) async -> AuthenticationStep {
        state.withLock {
            $0.calls += 1
            $0.running += 1
            $0.most = max($0.most, $0.running)
        }
        try? await Task.sleep(for: delay)
        state.withLock { $0.running -= 1 }
        guard passwords[user] == password else { return .refused(DeskpoolError(.unauthenticated, "wrong user name or password"), messages: []) }
        return .authenticated(SessionBroker.Principal(user: user), service: "deskpool", messages: [])
    }
}

extension LoginGate {
    /// A login with a password alone (these tests' authenticators ask nothing more).
    func login(user: String, password: String, address: String?) async throws(Refusal) -> SessionBroker.Principal {
        switch try await begin(user: user, password: password, address: address) {
        case .authenticated(let principal, _, _):
            return principal
        case .asking(let id, _, _):
            cancel(id)
            throw Refusal(reason: .failed(DeskpoolError(.unavailable, "the login asks more than a password")))
        }
    }
}

@Suite("Login gate: concurrency and lockouts")
struct LoginGateTests {
    static func gate(_ authenticator: SlowAuthenticator, configure: (inout LoginThrottleConfiguration) -> Void = { _ in }) -> LoginGate {
        var configuration = LoginThrottleConfiguration()
        configuration.failureDelayMilliseconds = 0
        configure(&configuration)
        return LoginGate(authenticator: authenticator, policy: configuration.policy, limits: LoginGate.Limits(configuration))
    }

    /// Runs `count` logins at once; returns how each ended ("ok", or the refusal's client code).
    static func burst(_ gate: LoginGate, count: Int, user: (Int) -> String, password: String, address: String) async -> [String] {
        await withTaskGroup(of: String.self) { group in
            for i in 0..<count {
                let name = user(i)
                group.addTask {
                    do throws(LoginGate.Refusal) {
                        _ = try await gate.login(user: name, password: password, address: address)
                        return "ok"
                    } catch {
                        return "\(error.error.code)"
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test("100 parallel wrong passwords for one user reach the authenticator at most twice; the rest are 429s")
    func burstOfWrongPasswords() async {
        let authenticator = SlowAuthenticator(["alice": "alice-pw"])
        // A minute's delay after a failure: a task the loaded machine starts late (seconds
        // after the first answer) still meets the throttle (with the 1 s default it could be
        // a third call once, in CI).
        let gate = Self.gate(authenticator) { $0.baseDelaySeconds = 60; $0.maxDelaySeconds = 600 }
        let answers = await Self.burst(gate, count: 100, user: { _ in "alice" }, password: "guess", address: "203.0.113.9")
        #expect(authenticator.calls <= 2)
        #expect(answers.filter { $0 == "unauthenticated" }.count == authenticator.calls)
        #expect(answers.filter { $0 == "throttled" }.count == 100 - authenticator.calls)
        let load = await gate.load
        #expect(load.inFlight == 0 && load.waiting == 0)
    }

    @Test("the user's right password from their own address works while an attacker is locked out at another")
    func lockoutStaysWithTheAttacker() async throws {
        let authenticator = SlowAuthenticator(["alice": "alice-pw"], delay: .milliseconds(1))
        let gate = Self.gate(authenticator) { $0.baseDelaySeconds = 0; $0.lockoutFailures = 3 }
        for _ in 0..<3 { _ = try? await gate.login(user: "alice", password: "guess", address: "203.0.113.9") }
        await #expect(throws: LoginGate.Refusal.self) { try await gate.login(user: "alice", password: "alice-pw", address: "203.0.113.9") }
        let calls = authenticator.calls
        #expect(try await gate.login(user: "alice", password: "alice-pw", address: "192.0.2.10").user == "alice")
        #expect(authenticator.calls == calls + 1)
        #expect(await gate.locks().map(\.key) == [LoginThrottle.Key(user: "alice", address: "203.0.113.9")])
        #expect(await gate.unlock(user: "alice", address: nil) == 1)
        #expect(try await gate.login(user: "alice", password: "alice-pw", address: "203.0.113.9").user == "alice")
    }

    @Test("different users from one address are not refused: up to maxConcurrentPerAddress at once, the rest wait their turn")
    func stormFromOneAddress() async {
        let users = Dictionary(uniqueKeysWithValues: (0..<60).map { ("user\($0)", "pw") })
        let authenticator = SlowAuthenticator(users, delay: .milliseconds(50))
        let gate = Self.gate(authenticator) { $0.maxConcurrentPerAddress = 8 }
        let answers = await Self.burst(gate, count: 60, user: { "user\($0)" }, password: "pw", address: "127.0.0.1")
        #expect(answers == Array(repeating: "ok", count: 60))
        #expect(authenticator.most <= 8)
    }

    @Test("every failure is answered no sooner than the failure delay, whatever the reason, and alike")
    func uniformFailures() async {
        let authenticator = SlowAuthenticator(["alice": "alice-pw"], delay: .milliseconds(1))
        let gate = Self.gate(authenticator) { $0.failureDelayMilliseconds = 300; $0.baseDelaySeconds = 0 }
        for (user, password) in [("alice", "wrong"), ("nobody", "x")] {
            let start = ContinuousClock.now
            do throws(LoginGate.Refusal) {
                _ = try await gate.login(user: user, password: password, address: "192.0.2.1")
                Issue.record("\(user) must be refused")
            } catch {
                #expect(error.error == LoginGate.Refusal.failedLogin)
            }
            #expect(ContinuousClock.now - start >= .milliseconds(300), "\(user)")
        }
        let unusable = LoginGate.Refusal(reason: .failed(DeskpoolError(.accountUnusable, "the account has expired; ask an administrator")))
        #expect(unusable.error == LoginGate.Refusal.failedLogin)
    }

    @Test("two brokers on one store count a user's failures together: the lockout comes after the total, either one shows and lifts it")
    func failuresCountedAcrossBrokers() async throws {
        let store = try SQLiteStore.inMemory()
        let authenticator = SlowAuthenticator(["alice": "alice-pw"], delay: .milliseconds(1))
        var configuration = LoginThrottleConfiguration()
        configuration.failureDelayMilliseconds = 0
        configuration.baseDelaySeconds = 0
        configuration.lockoutFailures = 4
        let one = LoginGate(authenticator: authenticator, policy: configuration.policy, limits: LoginGate.Limits(configuration), shared: store)
        let two = LoginGate(authenticator: authenticator, policy: configuration.policy, limits: LoginGate.Limits(configuration), shared: store)
        func fail(_ gate: LoginGate) async -> LoginGate.Refusal? {
            do throws(LoginGate.Refusal) {
                _ = try await gate.login(user: "alice", password: "wrong", address: "192.0.2.7")
                return nil
            } catch {
                return error
            }
        }
        for gate in [one, two, one] { #expect(await fail(gate)?.lockStarted == nil) }
        let fourth = await fail(two)
        #expect(fourth?.lockStarted?.key == LoginThrottle.Key(user: "alice", address: "192.0.2.7"), "the fourth failure, through either broker, locks")
        guard case .throttled(_, let locked, _)? = await fail(one)?.reason else {
            Issue.record("the other broker must refuse the locked pair")
            return
        }
        #expect(locked)
        #expect(await one.locks().map(\.key.user) == ["alice"])
        #expect(await one.unlock(user: "alice", address: nil) >= 1)
        #expect(await two.locks().isEmpty, "an unlock through one broker lifts it for the other")
        do throws(LoginGate.Refusal) {
            _ = try await two.login(user: "alice", password: "alice-pw", address: "192.0.2.7")
        } catch {
            Issue.record("alice logs in again after the unlock: \(error.error.message)")
        }
    }
}
