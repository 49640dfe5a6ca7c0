import DeskpoolCore
import Foundation
import Testing

@Suite("PoolReconciler: what keeps a pool at its spec")
struct PoolReconcilerTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let version = TemplateVersion(template: "tiny", number: 2, volume: "dp-base-tiny-v2.qcow2", note: "", createdAt: now, createdBy: "admin")

    static func pool(min: Int = 0, max: Int = 10, spare: Int = 3, saved: Int = 0, hosts: [String] = []) -> PoolSpec {
        var spec = PoolSpec(name: "eng", template: "tiny", min: min, max: max, spare: spare, naming: NamePattern("eng-{n:03}"), hosts: hosts)
        spec.savedSpare = saved
        return spec
    }

    static func desktops(_ states: [(DesktopState, String?)], version: Int = 2) -> [Desktop] {
        states.enumerated().map { index, item in
            Desktop(id: "d\(index + 1)", name: "eng-\(String(format: "%03d", index + 1))", pool: "eng", host: "a", template: "tiny",
                    version: version, state: item.0, user: item.1, createdAt: now)
        }
    }

    static func input(_ pool: PoolSpec = pool(), desktops: [Desktop] = [], busy: Set<String> = [], hosts: [Placement.Candidate]? = nil,
                      failures: Int = 0, retryAt: Date? = nil, version: TemplateVersion? = version) -> PoolReconciler.Input {
        PoolReconciler.Input(pool: pool, version: version, memoryMiB: 256, desktops: desktops, busy: busy,
                             hosts: hosts ?? [.init(name: "a", freeMemoryMiB: 8192)], takenNames: Set(desktops.map(\.name)),
                             failures: failures, retryAt: retryAt, now: now)
    }

    static func summary(_ actions: [PoolReconciler.Action]) -> [String] {
        actions.map {
            switch $0 {
            case .provision(let d): "provision \(d.name)@\(d.host) v\(d.version)"
            case .drive(let d): "drive \(d.name)"
            case .retire(let d): "retire \(d.name)"
            case .discardFailed(let d): "discard \(d.name)"
            case .save(let d): "save \(d.name)"
            case .resume(let d): "resume \(d.name)"
            case .blocked(let reason): "blocked: \(reason)"
            }
        }
    }

    @Test("sizing, table-driven", arguments: [
        // An empty pool fills its spares, lowest names first.
        ("empty pool", input(), ["provision eng-001@a v2", "provision eng-002@a v2", "provision eng-003@a v2"]),
        // Ready spares count; assigned desktops do not.
        ("one ready, one assigned", input(desktops: desktops([(.ready, nil), (.assigned, "u1")])),
         ["provision eng-003@a v2", "provision eng-004@a v2"]),
        // Desktops on their way count as coming spares, and are driven.
        ("in progress", input(desktops: desktops([(.provisioning, nil), (.starting, nil), (.ready, nil)])), ["drive eng-001", "drive eng-002"]),
        // Busy desktops are not driven twice.
        ("busy", input(desktops: desktops([(.provisioning, nil), (.ready, nil), (.ready, nil)]), busy: ["d1"]), []),
        // min wins over spare when larger.
        ("min", input(pool(min: 4, spare: 0)), ["provision eng-001@a v2", "provision eng-002@a v2", "provision eng-003@a v2", "provision eng-004@a v2"]),
        // max caps everything, sessions included.
        ("max", input(pool(max: 3, spare: 3), desktops: desktops([(.assigned, "u1"), (.connected, "u2")])), ["provision eng-003@a v2"]),
        // Too many ready spares: the extras go, highest name first.
        ("extras", input(pool(spare: 1), desktops: desktops([(.ready, nil), (.ready, nil), (.ready, nil)])), ["retire eng-003", "retire eng-002"]),
        // Spares of an old version go first.
        ("stale first", input(pool(spare: 1), desktops: desktops([(.ready, nil)]) + [Desktop(id: "old", name: "eng-009", pool: "eng", host: "a", template: "tiny", version: 1, state: .ready, createdAt: now)]),
         ["retire eng-009"]),
        // A refreshing desktop (logoff) counts as a coming spare and is driven.
        ("refreshing", input(pool(spare: 1), desktops: desktops([(.refreshing, nil)])), ["drive eng-001"]),
        // ... unless the pool has spares enough: then it is retired instead of re-cloned.
        ("refresh not needed", input(pool(spare: 1), desktops: desktops([(.refreshing, nil), (.ready, nil)])), ["retire eng-001"]),
        // Deleting desktops are driven and do not count.
        ("deleting", input(pool(spare: 1), desktops: desktops([(.deleting, nil)])), ["drive eng-001", "provision eng-002@a v2"]),
    ])
    func sizing(name: String, input: PoolReconciler.Input, expected: [String]) {
        #expect(Self.summary(PoolReconciler.plan(input)) == expected, "\(name)")
    }

    @Test("saved spares: the tiers, table-driven", arguments: [
        // A new pool makes running and saved spares alike; they boot first.
        ("empty", input(pool(spare: 1, saved: 2)), ["provision eng-001@a v2", "provision eng-002@a v2", "provision eng-003@a v2"]),
        // Booted: the ready spares beyond the running ones are saved, the lowest names kept running.
        ("save the extras", input(pool(spare: 1, saved: 2), desktops: desktops([(.ready, nil), (.ready, nil), (.ready, nil)])),
         ["save eng-003", "save eng-002"]),
        // Being saved counts as saved: nothing more to do.
        ("saving", input(pool(spare: 1, saved: 2), desktops: desktops([(.ready, nil), (.saving, nil), (.saved, nil)]), busy: ["d2"]), []),
        // A user took the running spare: a saved one resumes at once, and a new desktop is made
        // (it will be saved once it has booted).
        ("claimed", input(pool(spare: 1, saved: 2), desktops: desktops([(.assigned, "u1"), (.saved, nil), (.saved, nil)])),
         ["resume eng-002", "provision eng-004@a v2"]),
        // A resumed spare is a running one to come: not resumed twice.
        ("resuming", input(pool(spare: 1, saved: 2), desktops: desktops([(.assigned, "u1"), (.starting, nil), (.saved, nil), (.provisioning, nil)])),
         ["drive eng-002", "drive eng-004"]),
        // Balanced again: running 1, saved 2, one in use.
        ("balanced", input(pool(spare: 1, saved: 2), desktops: desktops([(.assigned, "u1"), (.ready, nil), (.saved, nil), (.saved, nil)])), []),
        // Fewer saved spares asked for: the saved ones go first.
        ("fewer saved", input(pool(spare: 1, saved: 1), desktops: desktops([(.ready, nil), (.saved, nil), (.saved, nil)])), ["retire eng-003"]),
        // Fewer running spares asked for: the running ones go first.
        ("fewer running", input(pool(spare: 0, saved: 2), desktops: desktops([(.ready, nil), (.saved, nil), (.saved, nil)])), ["retire eng-001"]),
        // Saved spares only: every ready spare is saved.
        ("saved only", input(pool(spare: 0, saved: 2), desktops: desktops([(.ready, nil), (.ready, nil)])), ["save eng-002", "save eng-001"]),
        // An old version's spare is not saved (it would be refreshed anyway) and goes first.
        ("stale not saved", input(pool(spare: 0, saved: 1), desktops: desktops([(.ready, nil)], version: 1) + desktops([(.ready, nil)]).map {
            var d = $0; d.id = "new"; d.name = "eng-002"; return d
        }), ["retire eng-001", "save eng-002"]),
        // A draining pool retires its saved spares too.
        ("draining", input({ var p = pool(spare: 1, saved: 2); p.draining = true; return p }(), desktops: desktops([(.saved, nil), (.assigned, "u1")])),
         ["retire eng-001"]),
    ])
    func savedSpares(name: String, input: PoolReconciler.Input, expected: [String]) {
        #expect(Self.summary(PoolReconciler.plan(input)) == expected, "\(name)")
    }

    @Test("failures: discard after the backoff, probe with one desktop at a time")
    func failures() {
        let broken = Self.desktops([(.failed, nil), (.ready, nil)])
        // While backing off: nothing new, the failed desktop is kept for inspection.
        let waiting = PoolReconciler.plan(Self.input(Self.pool(spare: 3), desktops: broken, failures: 1, retryAt: Self.now.addingTimeInterval(10)))
        #expect(Self.summary(waiting) == ["blocked: provisioning backs off after 1 failure(s) in a row"])
        // After the backoff: discard it and try one desktop, not a burst.
        let retry = PoolReconciler.plan(Self.input(Self.pool(spare: 3), desktops: broken, failures: 1, retryAt: Self.now.addingTimeInterval(-1)))
        #expect(Self.summary(retry) == ["discard eng-001", "provision eng-003@a v2"])
        // A failed dedicated desktop still assigned to its user is left for the admin (its
        // disk is the user's) ...
        var dedicated = Self.pool(spare: 0)
        dedicated.assignment = .dedicated
        let assigned = PoolReconciler.plan(Self.input(dedicated, desktops: Self.desktops([(.failed, "u1")])))
        #expect(Self.summary(assigned) == [])
        // ... a floating one is discarded: its session ended with it (a qemu killed under a
        // connected user), and the pool refills.
        let floating = PoolReconciler.plan(Self.input(Self.pool(spare: 0), desktops: Self.desktops([(.failed, "u1")])))
        #expect(Self.summary(floating) == ["discard eng-001"])
        // Failed desktops hold resources: they count against max.
        var dedicatedFull = Self.pool(max: 2, spare: 2)
        dedicatedFull.assignment = .dedicated
        let full = PoolReconciler.plan(Self.input(dedicatedFull, desktops: Self.desktops([(.failed, "u1"), (.ready, nil)])))
        #expect(Self.summary(full) == [])
    }

    @Test("placement spreads by free memory, honours allowed hosts, and says when nothing fits")
    func placement() {
        let hosts: [Placement.Candidate] = [.init(name: "a", freeMemoryMiB: 1024), .init(name: "b", freeMemoryMiB: 600), .init(name: "c", freeMemoryMiB: 100)]
        let spread = PoolReconciler.plan(Self.input(Self.pool(spare: 4), hosts: hosts))
        #expect(Self.summary(spread) == ["provision eng-001@a v2", "provision eng-002@a v2", "provision eng-003@b v2", "provision eng-004@a v2"])
        let none = PoolReconciler.plan(Self.input(Self.pool(spare: 2), hosts: [.init(name: "c", freeMemoryMiB: 100)]))
        #expect(Self.summary(none) == ["blocked: no allowed host has 256 MiB free for another desktop"])
        let noVersion = PoolReconciler.plan(Self.input(Self.pool(spare: 1), version: nil))
        #expect(Self.summary(noVersion) == ["blocked: no published version of template tiny"])
    }

    @Test("names skip those taken by any pool")
    func names() {
        var input = Self.input(Self.pool(spare: 2))
        input.takenNames = ["eng-001", "eng-003"]
        #expect(Self.summary(PoolReconciler.plan(input)) == ["provision eng-002@a v2", "provision eng-004@a v2"])
    }
}

extension PoolReconcilerTests {
    @Test("a draining pool retires what is idle (ready, off, unneeded refreshes), keeps sessions, provisions nothing")
    func draining() {
        var spec = Self.pool(min: 2, spare: 2)
        spec.draining = true
        let desktops = Self.desktops([(.ready, nil), (.assigned, "bob"), (.off, "carol"), (.refreshing, nil), (.connected, "dan")])
        let actions = PoolReconciler.plan(Self.input(spec, desktops: desktops))
        #expect(Self.summary(actions).sorted() == ["retire eng-001", "retire eng-003", "retire eng-004"])
    }
}
