@testable import DeskpoolCore
import Foundation
import Testing

/// What each desktop change means for the usage history: a table of changes, each made by the
/// lifecycle itself (as the store makes it), and the changes the ledger gives.
@Suite("UsageLedger: the usage changes of desktop changes")
struct UsageLedgerTests {
    static let at = Date(timeIntervalSince1970: 1_800_000_100)
    static let started = Date(timeIntervalSince1970: 1_800_000_000)

    static func desktop(_ state: DesktopState, user: String? = nil, session: String? = nil, incarnation: Int = 2) -> Desktop {
        Desktop(id: "d1", name: "eng-001", pool: "eng", host: "a", template: "tiny", version: 3, state: state, user: user,
                incarnation: incarnation, sessionID: session, sessionStartedAt: session == nil ? nil : started,
                client: state == .connected ? "10.0.0.9:5000" : nil, createdAt: started)
    }

    static func record(_ session: String, user: String = "carol", readyAt: Date? = nil) -> UsageRecord {
        UsageRecord(session: session, pool: "eng", desktopID: "d1", desktop: "eng-001", user: user, version: 3, requestedAt: at, readyAt: readyAt)
    }

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var old: Desktop?
        var event: DesktopEvent?
        /// Nil: `old` was deleted.
        var new: Desktop?
        var expected: [UsageLedger.Change]
        var testDescription: String { name }

        /// `event` applied to `old` by the lifecycle.
        init(_ name: String, _ old: Desktop, _ event: DesktopEvent, _ expected: [UsageLedger.Change]) {
            self.name = name
            self.old = old
            self.event = event
            self.new = try? DesktopLifecycle.apply(event, to: old).get()
            self.expected = expected
        }

        /// An insert (`old` nil) or a delete (`new` nil).
        init(_ name: String, old: Desktop?, new: Desktop?, _ expected: [UsageLedger.Change]) {
            self.name = name
            self.old = old
            self.new = new
            self.expected = expected
        }
    }

    static let rows: [Row] = [
        // Sessions begin.
        Row("claim: begins, ready at once", desktop(.ready), .claimed(user: "carol", session: DesktopSession(id: "s-new", startedAt: at)),
            [.begin(record("s-new", readyAt: at))]),
        Row("reservation inserted: begins, not ready", old: nil, new: desktop(.provisioning, user: "carol", session: "s1", incarnation: 1),
            [.begin(record("s1"))]),
        Row("reservation provisioned", desktop(.provisioning, user: "carol", session: "s1", incarnation: 1), .provisioned,
            [.provisioned(session: "s1", at: at)]),
        Row("reservation booted: ready", desktop(.starting, user: "carol", session: "s1", incarnation: 1), .booted(at: at),
            [.ready(session: "s1", at: at)]),
        Row("dedicated desktop woken: begins, not ready", desktop(.off, user: "dave"), .woken(session: DesktopSession(id: "s-new", startedAt: at)),
            [.begin(record("s-new", user: "dave"))]),
        Row("console on a kept desktop: begins, ready", desktop(.assigned, user: "dave"), .sessionBegun(DesktopSession(id: "s-new", startedAt: at)),
            [.begin(record("s-new", user: "dave", readyAt: at))]),
        Row("admin assignment: begins, ready", desktop(.ready), .adminAssigned(user: "carol", by: "root", session: DesktopSession(id: "s-new", startedAt: at)),
            [.begin(record("s-new", readyAt: at))]),
        // Consoles.
        Row("connect", desktop(.assigned, user: "carol", session: "s1"), .consoleConnected(client: "10.0.0.9:5000"),
            [.connected(session: "s1", at: at)]),
        Row("close", desktop(.connected, user: "carol", session: "s1"), .consoleClosed, [.disconnected(session: "s1", at: at)]),
        Row("reconnect", desktop(.disconnected, user: "carol", session: "s1"), .consoleConnected(client: "10.0.0.9:5001"),
            [.connected(session: "s1", at: at)]),
        // Sessions end.
        Row("logoff with a reason", desktop(.connected, user: "carol", session: "s1"), .loggedOff(action: .refresh, floating: true, reason: "user"),
            [.end(session: "s1", at: at, reason: "user")]),
        Row("logoff without a reason, desktop kept", desktop(.disconnected, user: "carol", session: "s1"),
            .loggedOff(action: .keep, floating: false, reason: nil), [.end(session: "s1", at: at, reason: "logoff")]),
        Row("logoff with a shutdown", desktop(.assigned, user: "carol", session: "s1"),
            .loggedOff(action: .shutdown, floating: false, reason: "disconnect timeout"), [.end(session: "s1", at: at, reason: "disconnect timeout")]),
        Row("lost under its user (the session id kept)", desktop(.connected, user: "carol", session: "s1"), .lost(reason: "domain vanished"),
            [.end(session: "s1", at: at, reason: "failed: domain vanished")]),
        Row("reservation failed before it was a desktop", desktop(.provisioning, user: "carol", session: "s1", incarnation: 1),
            .failed(reason: "no disk"), [.end(session: "s1", at: at, reason: "failed: no disk")]),
        Row("admin delete", desktop(.connected, user: "carol", session: "s1"), .adminDeleted(by: "root"),
            [.end(session: "s1", at: at, reason: "deleted by admin root")]),
        Row("admin delete of a failed desktop (its session ended before: the store keeps that end)",
            desktop(.failed, user: "carol", session: "s1"), .adminDeleted(by: "root"), [.end(session: "s1", at: at, reason: "deleted by admin root")]),
        Row("admin refresh", desktop(.assigned, user: "carol", session: "s1"), .adminRefreshed(by: "root", keepUser: true),
            [.end(session: "s1", at: at, reason: "refreshed by admin root")]),
        Row("admin unassign", desktop(.disconnected, user: "carol", session: "s1"), .adminUnassigned(by: "root"),
            [.end(session: "s1", at: at, reason: "unassigned by admin root")]),
        Row("delete in a session", old: desktop(.connected, user: "carol", session: "s1"), new: nil,
            [.end(session: "s1", at: at, reason: "deleted")]),
        // Nothing to do with sessions.
        Row("a free desktop inserted", old: nil, new: desktop(.provisioning), []),
        Row("a desktop without a session deleted", old: desktop(.ready), new: nil, []),
        Row("refresh after a logoff: recloned", desktop(.refreshing), .recloned(version: 4, generation: nil, keepUser: false), []),
        Row("refresh after a logoff: booted free", desktop(.starting), .booted(at: at), []),
        Row("dedicated desktop refreshed at logoff, booted without a session", desktop(.starting, user: "dave"), .booted(at: at), []),
        Row("restart into a changed definition", desktop(.assigned, user: "carol", session: "s1"),
            .redefined(policy: "p", generation: 6, restart: true), []),
        Row("target version in a session", desktop(.connected, user: "carol", session: "s1"), .targeted(version: 4), []),
        Row("regenerated", desktop(.disconnected, user: "carol", session: "s1"), .regenerated(7), []),
        Row("retired", desktop(.ready), .retired, []),
        Row("a free desktop provisioned", desktop(.provisioning), .provisioned, []),
        Row("a dedicated desktop provisioned without a session", desktop(.provisioning, user: "dave"), .provisioned, []),
    ]

    @Test(arguments: rows) func changes(_ row: Row) throws {
        if row.event != nil { try #require(row.new != nil, "the lifecycle refused the row's event") }
        #expect(UsageLedger.changes(from: row.old, to: row.new, event: row.event, at: Self.at) == row.expected)
    }
}

/// Usage records summed into intervals.
@Suite("UsageReport: buckets")
struct UsageReportTests {
    /// An hour boundary (2027-01-15 08:00 UTC).
    static let h0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func minutes(_ m: Double) -> Date { h0.addingTimeInterval(m * 60) }

    /// A session requested at `requested` minutes past `h0`; its phases in seconds after the
    /// request (`provisioned`, `waitSeconds`) and after it was ready (`connected`).
    static func session(_ id: String, _ user: String, requested: Double, waitSeconds: Double?, ended: Double?,
                        provisioned: Double? = nil, connected: Double? = nil) -> UsageRecord {
        let at = minutes(requested), ready = waitSeconds.map { at.addingTimeInterval($0) }
        return UsageRecord(session: id, pool: "eng", desktopID: "d-\(id)", desktop: "eng-\(id)", user: user, version: 1, requestedAt: at,
                           provisionedAt: provisioned.map { at.addingTimeInterval($0) }, readyAt: ready,
                           firstConnectedAt: connected.flatMap { seconds in ready.map { $0.addingTimeInterval(seconds) } },
                           endedAt: ended.map(minutes))
    }

    static let records = [
        session("1", "alice", requested: 10, waitSeconds: 60, ended: 40, connected: 15),  // a claim: no provisioning
        session("2", "bob", requested: 20, waitSeconds: 30, ended: 90, provisioned: 10, connected: 5),  // across two hours
        session("3", "alice", requested: 70, waitSeconds: 120, ended: nil),  // open until now
        session("4", "carol", requested: 50, waitSeconds: nil, ended: 55),  // never ready
    ]

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-9 }

    @Test func hourly() throws {
        let buckets = try #require(UsageReport.buckets(Self.records, from: Self.h0, to: Self.minutes(180), interval: .hour, now: Self.minutes(105)))
        #expect(buckets.map(\.start) == [Self.h0, Self.minutes(60), Self.minutes(120)])
        #expect(buckets.map(\.end) == [Self.minutes(60), Self.minutes(120), Self.minutes(180)])

        let first = buckets[0]
        #expect(first.sessions == 3, "sessions requested in the hour")
        #expect(first.users == 3)
        #expect(first.peakSessions == 2, "1 and 2 overlap, then 2 and 4")
        #expect(Self.close(first.sessionHours, (30 + 40 + 5) / 60.0), "1 whole, 2 up to the hour, 4 whole")
        #expect(first.waitP50Seconds == 30)
        #expect(first.waitP95Seconds == 60)
        #expect(first.provisioningP50Seconds == 10, "only the reservation was provisioned")
        #expect(first.bootP50Seconds == 20)
        #expect(first.connectP50Seconds == 5, "of 5 and 15")

        let second = buckets[1]
        #expect(second.sessions == 1, "2 counts in the hour it was requested only")
        #expect(second.users == 2, "bob's session goes on, alice's begins")
        #expect(second.peakSessions == 2)
        #expect(Self.close(second.sessionHours, (30 + 35) / 60.0), "2 from the hour on, 3 until now")
        #expect(second.waitP50Seconds == 120)
        #expect(second.waitP95Seconds == 120)
        #expect(second.provisioningP50Seconds == nil)
        #expect(second.connectP50Seconds == nil, "3 never connected")

        // After now, the open session is not counted.
        #expect(buckets[2] == UsageBucket(start: Self.minutes(120), end: Self.minutes(180)))
    }

    /// A session that ends as another begins is not two at once.
    @Test func peakOfSessionsEndToEnd() throws {
        let records = [Self.session("1", "alice", requested: 0, waitSeconds: 0, ended: 10),
                       Self.session("2", "bob", requested: 10, waitSeconds: 0, ended: 20)]
        let bucket = try #require(UsageReport.buckets(records, from: Self.h0, to: Self.minutes(60), interval: .hour, now: Self.minutes(60))?.first)
        #expect(bucket.peakSessions == 1)
        #expect(bucket.sessions == 2)
        #expect(bucket.users == 2)
    }

    /// Intervals are aligned to UTC whatever the period's ends: hours, days, weeks from Monday.
    @Test func alignment() throws {
        let hours = try #require(UsageReport.buckets([], from: Self.minutes(5), to: Self.minutes(61), interval: .hour, now: Self.h0))
        #expect(hours.map(\.start) == [Self.h0, Self.minutes(60)])

        let monday = Date(timeIntervalSince1970: 1_705_276_800)  // 2024-01-15 00:00 UTC
        let wednesdayNoon = monday.addingTimeInterval(2.5 * 86_400)
        let weeks = try #require(UsageReport.buckets([], from: wednesdayNoon, to: wednesdayNoon.addingTimeInterval(8 * 86_400), interval: .week,
                                                     now: monday))
        #expect(weeks.map(\.start) == [monday, monday.addingTimeInterval(7 * 86_400)])
        #expect(weeks.last?.end == monday.addingTimeInterval(14 * 86_400))

        let days = try #require(UsageReport.buckets([], from: wednesdayNoon, to: wednesdayNoon.addingTimeInterval(86_400), interval: .day, now: monday))
        #expect(days.map(\.start) == [monday.addingTimeInterval(2 * 86_400), monday.addingTimeInterval(3 * 86_400)])
    }

    /// At most `maxIntervals`; more gives nil.
    @Test func tooManyIntervals() {
        let limit = Double(UsageReport.maxIntervals)
        #expect(UsageReport.buckets([], from: Self.h0, to: Self.h0.addingTimeInterval(limit * 3600), interval: .hour, now: Self.h0)?.count
                == UsageReport.maxIntervals)
        #expect(UsageReport.buckets([], from: Self.h0, to: Self.h0.addingTimeInterval((limit + 1) * 3600), interval: .hour, now: Self.h0) == nil)
        #expect(UsageReport.buckets([], from: Self.h0, to: Self.h0, interval: .hour, now: Self.h0) == [])
    }
}
