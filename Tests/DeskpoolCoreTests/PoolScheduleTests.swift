import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Synchronization
import Testing

/// Pool sizes by time of day: which entry holds when (time zones, windows past midnight), the
/// sizes it gives, what a pool file may say, and the broker following a boundary.
@Suite("Pool schedules")
struct PoolScheduleTests {
    /// A UTC date: 2026-12-07 is a Monday.
    static func utc(_ text: String) -> Date {
        try! Date("2026-12-\(text):00Z", strategy: .iso8601)
    }

    static let weekdays = ScheduleEntry(days: [.mon, .tue, .wed, .thu, .fri], from: 8 * 60, to: 18 * 60, timezone: "Europe/Berlin", spare: 5)
    static let night = ScheduleEntry(days: [.fri], from: 22 * 60, to: 6 * 60, spare: 0, max: 2)

    @Test("which window holds a date", arguments: [
        // Berlin is UTC+1 in December: 08:00-18:00 Berlin is 07:00-17:00 UTC.
        (weekdays, "07T06:59", false), (weekdays, "07T07:00", true), (weekdays, "07T16:59", true), (weekdays, "07T17:00", false),
        (weekdays, "12T10:00", false),  // Saturday
        (weekdays, "11T10:00", true),   // Friday
        // Friday 22:00 to Saturday 06:00, UTC.
        (night, "11T21:59", false), (night, "11T22:00", true), (night, "12T03:00", true), (night, "12T06:00", false),
        (night, "12T23:00", false), (night, "07T03:00", false),  // Saturday night, Monday early
    ])
    func windows(entry: ScheduleEntry, at: String, holds: Bool) {
        #expect(entry.contains(Self.utc(at)) == holds)
    }

    @Test("the first entry that holds sizes the pool; what it leaves out is the pool's; outside, the pool's own")
    func sizes() {
        var pool = PoolSpec(name: "lab", template: "t", min: 1, max: 10, spare: 1)
        pool.schedule = [Self.weekdays, Self.night, ScheduleEntry(days: [.mon], from: 0, to: 24 * 60, spare: 9)]
        let monday = pool.scheduled(at: Self.utc("07T09:00"))
        #expect((monday.min, monday.spare, monday.max) == (1, 5, 10))
        #expect(pool.scheduleEntry(at: Self.utc("07T09:00"))?.index == 0, "the first match, not the all-day Monday one")
        #expect(pool.scheduled(at: Self.utc("07T20:00")).spare == 9)
        let friday = pool.scheduled(at: Self.utc("11T23:00"))
        #expect((friday.min, friday.spare, friday.max) == (1, 0, 2))
        let sunday = pool.scheduled(at: Self.utc("13T12:00"))
        #expect((sunday.min, sunday.spare, sunday.max) == (1, 1, 10) && sunday == pool)
    }

    @Test("bad schedules are refused with the line and the reason", arguments: [
        ("schedule:\n  - days: [mon]\n    from: \"08:00\"\n    to: \"25:00\"\n", "to must be a time HH:MM"),
        ("schedule:\n  - days: [monday]\n    from: \"08:00\"\n    to: \"18:00\"\n", "days must be mon"),
        ("schedule:\n  - days: []\n    from: \"08:00\"\n    to: \"18:00\"\n", "at least one day"),
        ("schedule:\n  - days: [mon]\n    from: \"8:00\"\n    to: \"18:00\"\n", "from must be a time HH:MM"),
        ("schedule:\n  - days: [mon]\n    from: \"08:00\"\n    to: \"08:00\"\n", "an empty window"),
        ("schedule:\n  - days: [mon]\n    from: \"08:00\"\n    to: \"18:00\"\n    timezone: Mars/Olympus\n", "IANA time zone"),
        ("schedule:\n  - days: [mon]\n    from: \"08:00\"\n    to: \"18:00\"\n    spare: -1\n", "spare must not be negative"),
        ("schedule:\n  - days: [mon]\n    from: \"08:00\"\n    to: \"18:00\"\n    spare: 20\n", "spare (20) must not exceed max (10)"),
        ("schedule:\n  - days: [mon]\n    from: \"08:00\"\n    to: \"18:00\"\n    spares: 2\n", "spares"),
    ])
    func refused(yaml: String, mention: String) throws {
        let text = "name: lab\ntemplate: t\nmax: 10\n" + yaml
        #expect(throws: ConfigurationError.self) { try YAMLConfigDecoder.decode(PoolSpec.self, yaml: text) }
        do {
            _ = try YAMLConfigDecoder.decode(PoolSpec.self, yaml: text)
        } catch {
            #expect("\(error)".contains(mention), "\(error)")
        }
    }

    @Test("a schedule round-trips through a pool file and the store's JSON")
    func roundTrip() throws {
        let text = "name: lab\ntemplate: t\nmax: 10\nschedule:\n  - days: [mon, fri]\n    from: \"07:30\"\n    to: \"18:00\"\n    timezone: Europe/Berlin\n    spare: 4\n"
        let pool = try YAMLConfigDecoder.decode(PoolSpec.self, yaml: text)
        #expect(pool.schedule == [ScheduleEntry(days: [.mon, .fri], from: 7 * 60 + 30, to: 18 * 60, timezone: "Europe/Berlin", spare: 4)])
        let stored = try JSONDecoder().decode(PoolSpec.self, from: JSONEncoder().encode(pool))
        #expect(stored.schedule == pool.schedule)
    }

    @Test("the broker follows a boundary: more spares inside the window, fewer after it, and the desktop in use stays its user's")
    func boundary() async throws {
        let date = Mutex(Self.utc("07T06:59"))  // a Monday, a minute before 08:00 in Berlin
        let fake = FakeHypervisor(host: "a")
        let h = BrokerHarness(store: try SQLiteStore.inMemory(), hypervisors: [fake], options: .init(probeInterval: .milliseconds(5)),
                              now: { date.withLock { $0 } })
        try await h.admin.applyTemplate(TemplateDefinition(name: "t", vcpus: 1, memoryMiB: 256, bootTimeoutSeconds: 60, domainXML: "<domain/>"),
                                        actor: "admin:test")
        _ = try await h.admin.publishVersion(template: "t", from: .file("/images/t.qcow2"), note: "first", actor: "admin:test")
        var pool = PoolSpec(name: "lab", template: "t", max: 6, spare: 1, users: ["alice"])
        pool.session.unconnectedTimeoutSeconds = 0
        pool.schedule = [ScheduleEntry(days: [.mon], from: 8 * 60, to: 18 * 60, timezone: "Europe/Berlin", spare: 3)]
        try await h.admin.applyPool(pool, actor: "admin:test")
        try await h.running {
            try await h.wait(for: "one spare", timeout: .seconds(30)) { try await h.desktops("lab", in: [.ready]).count == 1 }
            guard case .assigned(let held) = try await h.broker.request(.init(user: "alice"), pool: "lab") else {
                throw TimeoutError(what: "a desktop for alice", duration: .zero)
            }
            try await h.wait(for: "one spare again", timeout: .seconds(30)) { try await h.desktops("lab", in: [.ready]).count == 1 }

            date.withLock { $0 = Self.utc("07T07:00") }  // 08:00 in Berlin
            h.core.poke()
            try await h.wait(for: "three spares", timeout: .seconds(30)) { try await h.desktops("lab", in: [.ready]).count == 3 }

            date.withLock { $0 = Self.utc("07T17:00") }  // 18:00 in Berlin
            h.core.poke()
            try await h.wait(for: "one spare after the window", timeout: .seconds(30)) {
                let ready = try await h.desktops("lab", in: [.ready]).count
                let going = try await h.desktops("lab", in: [.deleting]).count
                return ready == 1 && going == 0
            }
            let kept = try #require(try await h.store.desktop(id: held.id))
            #expect(kept.user == "alice" && kept.state == .assigned && kept.sessionID == held.sessionID)
        }
    }
}
