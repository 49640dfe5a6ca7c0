import DeskpoolCore
import Foundation
import Testing

@Suite("Login throttle")
struct LoginThrottleTests {
    static let t0 = Date(timeIntervalSince1970: 1_000_000)
    static func at(_ seconds: TimeInterval) -> Date { t0.addingTimeInterval(seconds) }
    static let pair = LoginThrottle.Key(user: "alice", address: "10.0.0.1")
    static let address = LoginThrottle.Key(user: nil, address: "10.0.0.1")

    /// Whether a login is let through, and if not, by which key and until when.
    static func verdict(_ throttle: inout LoginThrottle, _ user: String?, _ address: String?, _ now: Date) -> String {
        switch throttle.attempt(user: user, address: address, now: now) {
        case .allow: "allow"
        case .refuse(let key, let until, let locked, _):
            "\(locked ? "locked" : "wait") \(key.user ?? "*")@\(key.address) until \(Int(until.timeIntervalSince(t0)))"
        }
    }

    @Test("backoff is per user and address: each failure doubles the wait; other addresses and users are not slowed", arguments: [
        // (failures of alice from 10.0.0.1 at these seconds, who tries, from where, when, expected)
        ([0.0], "alice", "10.0.0.1", 0.5, "wait alice@10.0.0.1 until 1"),
        ([0.0], "alice", "10.0.0.1", 1.0, "allow"),
        ([0.0, 1], "alice", "10.0.0.1", 2.0, "wait alice@10.0.0.1 until 3"),
        ([0.0, 1, 3], "alice", "10.0.0.1", 3.0, "wait alice@10.0.0.1 until 7"),
        ([0.0, 1, 3], "alice", "10.0.0.9", 3.0, "allow"),      // the user's own address
        ([0.0, 1, 3], "bob", "10.0.0.1", 3.0, "allow"),        // another user at the same address
        ([0.0, 1, 3], "alice", nil, 3.0, "allow"),
    ] as [([Double], String, String?, Double, String)])
    func backoff(failures: [Double], user: String, address: String?, now: Double, expected: String) {
        var throttle = LoginThrottle()
        for second in failures { throttle.failed(user: "alice", address: "10.0.0.1", now: Self.at(second)) }
        #expect(Self.verdict(&throttle, user, address, Self.at(now)) == expected)
    }

    @Test("lockoutFailures lock the pair (reported once), the maximum delay caps the backoff, and the lock ends")
    func lockout() {
        var policy = LoginThrottle.Policy()
        policy.maxDelay = 5
        policy.lockoutFailures = 5
        policy.lockout = 600
        var throttle = LoginThrottle(policy: policy)
        var started: [LoginThrottle.Lock] = []
        for i in 0..<4 { if let lock = throttle.failed(user: "alice", address: "10.0.0.1", now: Self.at(Double(i) * 100)) { started.append(lock) } }
        #expect(started.isEmpty)
        #expect(Self.verdict(&throttle, "alice", "10.0.0.1", Self.at(301)) == "wait alice@10.0.0.1 until 305")
        let lock = throttle.failed(user: "alice", address: "10.0.0.1", now: Self.at(400))
        #expect(lock == LoginThrottle.Lock(key: Self.pair, failures: 5, until: Self.at(1000), locked: true))
        #expect(Self.verdict(&throttle, "alice", "10.0.0.1", Self.at(500)) == "locked alice@10.0.0.1 until 1000")
        #expect(Self.verdict(&throttle, "alice", "192.0.2.7", Self.at(500)) == "allow", "the user's own address is not locked")
        #expect(throttle.locks(now: Self.at(500)) == [LoginThrottle.Lock(key: Self.pair, failures: 5, until: Self.at(1000), locked: true)])
        #expect(Self.verdict(&throttle, "alice", "10.0.0.1", Self.at(1000)) == "allow")
    }

    @Test("an address spraying names (malformed ones included) is locked at its own limit, for every user of it, and only it")
    func addressSpray() {
        var policy = LoginThrottle.Policy()
        policy.addressLockoutFailures = 20
        var throttle = LoginThrottle(policy: policy)
        for i in 0..<19 { #expect(throttle.failed(user: "user\(i)", address: "203.0.113.9", now: Self.at(Double(i))) == nil) }
        #expect(Self.verdict(&throttle, "someone", "203.0.113.9", Self.at(19)) == "allow", "an address is not backed off")
        let lock = throttle.failed(user: nil, address: "203.0.113.9", now: Self.at(19))
        #expect(lock?.key == LoginThrottle.Key(user: nil, address: "203.0.113.9"))
        #expect(Self.verdict(&throttle, "someone", "203.0.113.9", Self.at(60)) == "locked *@203.0.113.9 until 919")
        #expect(Self.verdict(&throttle, nil, "203.0.113.9", Self.at(60)) == "locked *@203.0.113.9 until 919")
        #expect(Self.verdict(&throttle, "someone", "198.51.100.1", Self.at(60)) == "allow")
    }

    @Test("refused attempts are reported at most once per key and interval, with the count since the last report")
    func folding() {
        var policy = LoginThrottle.Policy()
        policy.lockoutFailures = 1
        policy.reportInterval = 60
        var throttle = LoginThrottle(policy: policy)
        throttle.failed(user: "alice", address: "10.0.0.1", now: Self.t0)
        var reports: [Int] = []
        for i in 0..<100 {
            if case .refuse(_, _, _, let report?) = throttle.attempt(user: "alice", address: "10.0.0.1", now: Self.at(Double(i))) { reports.append(report) }
        }
        #expect(reports == [1, 60], "the first at once, then the 60 refused since, at 60 s")
    }

    @Test("a success clears the pair and the address; an admin's unlock clears what it names", arguments: [
        ("alice", "10.0.0.1", 1, ["*@10.0.0.1", "bob@10.0.0.1", "alice@10.0.0.2"]),
        ("alice", nil, 2, ["*@10.0.0.1", "bob@10.0.0.1"]),
        (nil, "10.0.0.1", 3, ["alice@10.0.0.2"]),
    ] as [(String?, String?, Int, [String])])
    func unlock(user: String?, address: String?, cleared: Int, left: [String]) {
        var policy = LoginThrottle.Policy()
        policy.lockoutFailures = 1
        policy.addressLockoutFailures = 2
        var throttle = LoginThrottle(policy: policy)
        for (name, place) in [("alice", "10.0.0.1"), ("bob", "10.0.0.1"), ("alice", "10.0.0.2")] { throttle.failed(user: name, address: place, now: Self.t0) }
        #expect(throttle.unlock(user: user, address: address) == cleared)
        #expect(throttle.locks(now: Self.at(1)).map { "\($0.key.user ?? "*")@\($0.key.address)" } == left)
        throttle.succeeded(user: "bob", address: "10.0.0.1")
        #expect(Self.verdict(&throttle, "bob", "10.0.0.1", Self.at(1)) == "allow")
    }

    @Test("a spray of random names and addresses keeps at most maxRecords, locks last")
    func bounded() {
        var policy = LoginThrottle.Policy()
        policy.maxRecords = 100
        policy.lockoutFailures = 3
        var throttle = LoginThrottle(policy: policy)
        for _ in 0..<3 { throttle.failed(user: "alice", address: "10.0.0.1", now: Self.t0) }
        for i in 0..<5000 { throttle.failed(user: "u\(i)", address: "10.1.\(i / 250).\(i % 250)", now: Self.at(Double(i) / 100)) }
        #expect(throttle.count <= 100)
        #expect(Self.verdict(&throttle, "alice", "10.0.0.1", Self.at(60)).hasPrefix("locked alice@10.0.0.1"))
    }

    @Test("failures older than the window are forgotten")
    func window() {
        var throttle = LoginThrottle()
        for i in 0..<9 { throttle.failed(user: "alice", address: nil, now: Self.at(Double(i))) }
        #expect(Self.verdict(&throttle, "alice", nil, Self.at(2000)) == "allow")
        throttle.failed(user: "alice", address: nil, now: Self.at(2000))
        #expect(Self.verdict(&throttle, "alice", nil, Self.at(2000)) == "wait alice@unknown until 2001", "counting starts again")
    }
}

@Suite("Records of untrusted text")
struct SafeTextTests {
    @Test("control characters are escaped and long text is cut with a marker, within the limit", arguments: [
        ("alice", 64, "alice"),
        ("a\nb\rc\td\u{1B}[31m", 64, "a\\nb\\rc\\td\\u{1b}[31m"),
        ("evil\u{202E}txt", 64, "evil\\u{202e}txt"),
        (String(repeating: "x", count: 100), 40, String(repeating: "x", count: 16) + "...[cut 84 bytes]"),
    ] as [(String, Int, String)])
    func escaped(text: String, limit: Int, expected: String) {
        let safe = SafeText.escaped(text, limit: limit)
        #expect(safe == expected)
        #expect(safe.utf8.count <= limit)
    }

    @Test("every audit field is capped in the entry itself; a 1 MB subject stays short")
    func auditCaps() {
        let huge = String(repeating: "é\n", count: 500_000)
        let entry = AuditEntry(at: Date(), actor: huge, action: huge, subject: huge, result: huge, detail: huge)
        for (field, value) in [(AuditEntry.Field.actor, entry.actor), (.action, entry.action), (.subject, entry.subject), (.result, entry.result),
                               (.detail, entry.detail)] {
            #expect(value.utf8.count <= field.limit, "\(field)")
            #expect(value.hasSuffix("bytes]"), "\(field) carries the cut marker")
        }
        #expect(!entry.subject.contains("\n") && entry.detail.contains("\n"), "one-line fields are escaped; the detail keeps its lines")
        #expect(AuditEntry(at: Date(), actor: "admin:root", action: "pool.put", subject: "pool/eng").subject == "pool/eng")
    }

    @Test("the client of a request: X-Forwarded-For only from a trusted proxy, the rightmost untrusted hop", arguments: [
        ("192.0.2.1", ["203.0.113.7"], [String](), "192.0.2.1"),
        ("192.0.2.1", ["203.0.113.7"], ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.5", ["203.0.113.7"], ["10.0.0.0/8"], "203.0.113.7"),
        ("10.0.0.5", ["1.2.3.4, 203.0.113.7, 10.0.0.9"], ["10.0.0.0/8"], "203.0.113.7"),
        ("10.0.0.5", ["1.2.3.4", "203.0.113.7"], ["10.0.0.0/8"], "203.0.113.7"),
        ("10.0.0.5", ["not-an-address"], ["10.0.0.0/8"], "10.0.0.5"),
        ("10.0.0.5", [], ["10.0.0.0/8"], "10.0.0.5"),
    ] as [(String, [String], [String], String)])
    func forwarded(peer: String, header: [String], trusted: [String], expected: String) {
        #expect(ForwardedClient.address(peer: peer, forwardedFor: header, trusted: trusted.compactMap(IPNetwork.init)) == expected)
    }
}
