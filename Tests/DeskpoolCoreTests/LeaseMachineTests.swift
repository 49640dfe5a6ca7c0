import DeskpoolCore
import Foundation
import Testing

/// `LeaseMachine`'s decisions, as a table: what a replica renews, takes, gives up and forgets.
@Suite("Leases: what a replica holds")
struct LeaseMachineTests {
    static let work: [Lease.Work] = [.host("a"), .pools, .rollouts]
    static let soon = Date(timeIntervalSince1970: 2_000_000_000)

    static func lease(_ name: String, _ holder: String, _ generation: Int64 = 1, live: Bool = true) -> Lease {
        Lease(name: name, holder: holder, generation: generation, expiresAt: soon, live: live)
    }

    static func heartbeat(_ replica: String, live: Bool = true) -> Lease { lease("replica/\(replica)", replica, live: live) }

    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var leases: [Lease]
        var held: [String: Int64]
        var expected: [LeaseMachine.Action]
    }

    static let cases: [Case] = [
        Case(testDescription: "alone on an empty store: its heartbeat and all the work",
             leases: [], held: [:],
             expected: [.take("replica/r1"), .take("host/a"), .take("pools"), .take("rollouts")]),
        Case(testDescription: "alone with everything: renews everything",
             leases: [heartbeat("r1"), lease("host/a", "r1"), lease("pools", "r1"), lease("rollouts", "r1")],
             held: ["replica/r1": 1, "host/a": 1, "pools": 1, "rollouts": 1],
             expected: [.renew("replica/r1", generation: 1), .renew("host/a", generation: 1), .renew("pools", generation: 1),
                        .renew("rollouts", generation: 1)]),
        Case(testDescription: "a second replica joins with nothing: the surplus over the share of 2 is given up",
             leases: [heartbeat("r1"), heartbeat("r2"), lease("host/a", "r1"), lease("pools", "r1"), lease("rollouts", "r1")],
             held: ["replica/r1": 1, "host/a": 1, "pools": 1, "rollouts": 1],
             expected: [.renew("replica/r1", generation: 1), .renew("host/a", generation: 1), .renew("pools", generation: 1),
                        .release("rollouts", generation: 1)]),
        Case(testDescription: "the new replica takes what was given up, up to its share",
             leases: [heartbeat("r1"), heartbeat("r2"), lease("host/a", "r2"), lease("pools", "r2"), lease("rollouts", "r2", 1, live: false)],
             held: ["replica/r1": 1],
             expected: [.renew("replica/r1", generation: 1), .take("rollouts")]),
        Case(testDescription: "at its share while the other is too: nothing given up",
             leases: [heartbeat("r1"), heartbeat("r2"), lease("host/a", "r1"), lease("pools", "r1"), lease("rollouts", "r2")],
             held: ["replica/r1": 1, "host/a": 1, "pools": 1],
             expected: [.renew("replica/r1", generation: 1), .renew("host/a", generation: 1), .renew("pools", generation: 1)]),
        Case(testDescription: "a replica died (heartbeat and leases ran out): the survivor takes its work",
             leases: [heartbeat("r1"), heartbeat("r2", live: false), lease("host/a", "r1"), lease("pools", "r2", 4, live: false),
                      lease("rollouts", "r2", 2, live: false)],
             held: ["replica/r1": 1, "host/a": 1],
             expected: [.renew("replica/r1", generation: 1), .renew("host/a", generation: 1), .take("pools"), .take("rollouts")]),
        Case(testDescription: "another replica holds what this one thought it held: forgotten, not renewed",
             leases: [heartbeat("r1"), heartbeat("r2"), lease("host/a", "r2", 2), lease("pools", "r1"), lease("rollouts", "r2")],
             held: ["replica/r1": 1, "host/a": 1, "pools": 1],
             expected: [.forget("host/a"), .renew("replica/r1", generation: 1), .renew("pools", generation: 1)]),
        Case(testDescription: "the same holder at another generation (a restart under the same name): forgotten",
             leases: [heartbeat("r1"), lease("host/a", "r1", 5), lease("pools", "r1"), lease("rollouts", "r1")],
             held: ["replica/r1": 1, "host/a": 4, "pools": 1, "rollouts": 1],
             expected: [.forget("host/a"), .renew("replica/r1", generation: 1), .renew("pools", generation: 1), .renew("rollouts", generation: 1)]),
        Case(testDescription: "three replicas, three leases: one each; a running lease of another is never taken",
             leases: [heartbeat("r1"), heartbeat("r2"), heartbeat("r3"), lease("host/a", "r2"), lease("pools", "r3")],
             held: ["replica/r1": 1],
             expected: [.renew("replica/r1", generation: 1), .take("rollouts")]),
    ]

    @Test(arguments: cases) func decide(_ c: Case) {
        let actions = LeaseMachine.decide(LeaseMachine.Input(replica: "r1", work: Self.work, leases: c.leases, held: c.held))
        #expect(actions == c.expected)
    }
}
