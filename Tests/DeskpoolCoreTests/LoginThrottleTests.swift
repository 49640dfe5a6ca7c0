import DeskpoolCore
import Foundation
import Testing

@Suite("Login throttle")
struct LoginThrottleTests {
    static let t0 = Date(timeIntervalSince1970: 1_000_000)
    static func at(_ seconds: TimeInterval) -> Date { t0.addingTimeInterval(seconds) }

    @Test("each failure doubles the wait (1, 2, 4 s ...) up to the maximum; a success clears it")
    func backoff() {
        var throttle = LoginThrottle()
        #expect(throttle.check(user: "alice", address: "10.0.0.1", now: Self.t0) == .allow)
        throttle.failed(user: "alice", address: "10.0.0.1", now: Self.t0)
        #expect(throttle.check(user: "alice", address: "10.0.0.9", now: Self.at(0.5)) == .wait(until: Self.at(1), locked: false))
        #expect(throttle.check(user: "alice", address: "10.0.0.9", now: Self.at(1)) == .allow)
        throttle.failed(user: "alice", address: "10.0.0.1", now: Self.at(1))
        #expect(throttle.check(user: "alice", address: nil, now: Self.at(2)) == .wait(until: Self.at(3), locked: false))
        throttle.failed(user: "alice", address: nil, now: Self.at(3))
        #expect(throttle.check(user: "alice", address: nil, now: Self.at(3)) == .wait(until: Self.at(7), locked: false))
        // Another user from another address is not slowed by alice's failures.
        #expect(throttle.check(user: "bob", address: "10.0.0.2", now: Self.at(3)) == .allow)
        // bob from alice's address waits for the address's backoff (2 failures from it).
        #expect(throttle.check(user: "bob", address: "10.0.0.1", now: Self.at(2)) == .wait(until: Self.at(3), locked: false))
        throttle.succeeded(user: "alice", address: "10.0.0.1")
        #expect(throttle.check(user: "alice", address: "10.0.0.1", now: Self.at(3)) == .allow)
    }

    @Test("the maximum delay caps the backoff; lockoutFailures in a row lock the user out for the lockout time")
    func lockout() {
        var policy = LoginThrottle.Policy()
        policy.maxDelay = 5
        policy.lockoutFailures = 5
        policy.lockout = 600
        var throttle = LoginThrottle(policy: policy)
        for i in 0..<4 { throttle.failed(user: "alice", address: nil, now: Self.at(Double(i) * 100)) }
        #expect(throttle.check(user: "alice", address: nil, now: Self.at(301)) == .wait(until: Self.at(305), locked: false))
        throttle.failed(user: "alice", address: nil, now: Self.at(400))
        #expect(throttle.check(user: "alice", address: nil, now: Self.at(500)) == .wait(until: Self.at(1000), locked: true))
        #expect(throttle.check(user: "alice", address: nil, now: Self.at(1000)) == .allow)
    }

    @Test("an address spraying many user names is locked out at its own, higher limit")
    func addressSpray() {
        var policy = LoginThrottle.Policy()
        policy.addressLockoutFailures = 20
        var throttle = LoginThrottle(policy: policy)
        for i in 0..<20 { throttle.failed(user: "user\(i)", address: "203.0.113.9", now: Self.at(Double(i))) }
        if case .wait(_, let locked) = throttle.check(user: "someone-new", address: "203.0.113.9", now: Self.at(60)) {
            #expect(locked)
        } else {
            Issue.record("the address must be locked out")
        }
        #expect(throttle.check(user: "someone-new", address: "198.51.100.1", now: Self.at(60)) == .allow)
    }

    @Test("failures older than the window are forgotten")
    func window() {
        var throttle = LoginThrottle()
        for i in 0..<9 { throttle.failed(user: "alice", address: nil, now: Self.at(Double(i))) }
        #expect(throttle.check(user: "alice", address: nil, now: Self.at(2000)) == .allow)
        throttle.failed(user: "alice", address: nil, now: Self.at(2000))
        #expect(throttle.check(user: "alice", address: nil, now: Self.at(2000)) == .wait(until: Self.at(2001), locked: false), "counting starts again")
    }
}
