@testable import DeskpoolCore
import Foundation
import Testing

/// Every event in every state: the next state, or a refusal. The table is written out here,
/// not derived from `DesktopLifecycle.states(for:)`, so a change of the lifecycle shows up as
/// a failing row.
@Suite("DesktopLifecycle: every event in every state")
struct DesktopLifecycleTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let session = DesktopSession(id: "s-new", startedAt: now)

    static func desktop(_ state: DesktopState, user: String? = nil, sessionID: String? = nil, incarnation: Int = 2,
                        target: Int? = nil) -> Desktop {
        Desktop(id: "d1", name: "eng-001", pool: "eng", host: "a", template: "tiny", version: 3, state: state, reason: "before",
                user: user, incarnation: incarnation, generation: 5, sessionID: sessionID,
                sessionStartedAt: sessionID == nil ? nil : now.addingTimeInterval(-60), client: sessionID == nil ? nil : "10.0.0.9:5000",
                targetVersion: target, createdAt: now)
    }

    /// The row's allowed moves ("from>to", a space between them); every other state refuses.
    static let table: [(DesktopEvent, String)] = [
        (.provisioned, "provisioning>starting"),
        (.booted(at: now), "starting>ready"),
        (.restarted, "restarting>starting"),
        (.stopped, "stopping>off"),
        (.parked, "ready>saving"),
        (.saved, "saving>saved"),
        (.resumed, "saved>starting"),
        (.recloned(version: 4, generation: 6, keepUser: false), "refreshing>provisioning"),
        (.retired, "ready>deleting saved>deleting refreshing>deleting off>deleting"),
        (.discarded, "failed>deleting"),
        (.failed(reason: "boom"), "provisioning>failed starting>failed refreshing>failed restarting>failed stopping>failed saving>failed"),
        (.lost(reason: "domain vanished"), "ready>failed saved>failed assigned>failed connected>failed disconnected>failed"),
        (.claimed(user: "carol", session: session), "ready>assigned saved>starting"),
        (.woken(session: session), "off>starting"),
        (.sessionBegun(session), "assigned>assigned connected>connected disconnected>disconnected"),
        (.consoleConnected(client: "10.0.0.1:4000"), "assigned>connected disconnected>connected"),
        (.consoleClosed, "connected>disconnected"),
        (.loggedOff(action: .refresh, floating: true, reason: nil), "assigned>refreshing connected>refreshing disconnected>refreshing"),
        (.loggedOff(action: .shutdown, floating: false, reason: nil), "assigned>stopping connected>stopping disconnected>stopping"),
        (.loggedOff(action: .keep, floating: false, reason: nil), "assigned>assigned connected>assigned disconnected>assigned"),
        (.adminRefreshed(by: "root", keepUser: false),
         "ready>refreshing saved>refreshing assigned>refreshing connected>refreshing disconnected>refreshing off>refreshing failed>refreshing"),
        (.adminDeleted(by: "root"),
         "provisioning>deleting starting>deleting ready>deleting saving>deleting saved>deleting assigned>deleting connected>deleting disconnected>deleting "
            + "refreshing>deleting restarting>deleting stopping>deleting off>deleting failed>deleting"),
        (.adminAssigned(user: "carol", by: "root", session: session), "ready>assigned"),
        (.rolloutRefreshed(policy: "p", version: 4, rollingBack: false), "ready>refreshing saved>refreshing off>refreshing"),
        (.rolloutRefreshed(policy: "p", version: 4, rollingBack: true), "ready>refreshing saved>refreshing off>refreshing failed>refreshing starting>refreshing"),
        (.redefined(policy: "p", generation: 6, restart: true),
         "provisioning>provisioning starting>starting ready>restarting saving>saving saved>restarting assigned>restarting connected>connected disconnected>disconnected "
            + "refreshing>refreshing restarting>restarting deleting>deleting stopping>stopping off>off failed>failed"),
        (.redefined(policy: "p", generation: 6, restart: false),
         "provisioning>provisioning starting>starting ready>ready saving>saving saved>saved assigned>assigned connected>connected disconnected>disconnected "
            + "refreshing>refreshing restarting>restarting deleting>deleting stopping>stopping off>off failed>failed"),
        (.rolloutRestarted(policy: "p"), "ready>restarting assigned>restarting"),
        (.remediated(policy: "c"), "ready>refreshing"),
        (.targeted(version: 4), "assigned>assigned connected>connected disconnected>disconnected"),
        (.untargeted(version: nil),
         "provisioning>provisioning starting>starting ready>ready saving>saving saved>saved assigned>assigned connected>connected disconnected>disconnected "
            + "refreshing>refreshing restarting>restarting deleting>deleting stopping>stopping off>off failed>failed"),
        (.regenerated(6),
         "provisioning>provisioning starting>starting ready>ready saving>saving saved>saved assigned>assigned connected>connected disconnected>disconnected "
            + "refreshing>refreshing restarting>restarting deleting>deleting stopping>stopping off>off failed>failed"),
    ]

    @Test("events × states", arguments: table.indices)
    func row(_ index: Int) {
        let (event, moves) = Self.table[index]
        let expected = Dictionary(uniqueKeysWithValues: moves.split(separator: " ").map { move in
            let parts = move.split(separator: ">").map { DesktopState(rawValue: String($0))! }
            return (parts[0], parts[1])
        })
        for state in DesktopState.allCases {
            // Free of any user for the claims; the unassign row is below (it needs a user).
            let result = DesktopLifecycle.apply(event, to: Self.desktop(state))
            switch (result, expected[state]) {
            case (.success(let next), let to?):
                #expect(next.state == to, "\(event.name) in \(state)")
                #expect(next.id == "d1" && next.name == "eng-001" && next.updatedAt == Self.now, "\(event.name) keeps the identity")
            case (.failure(let refusal), nil):
                #expect(refusal.state == state && refusal.event == event.name)
                #expect(refusal.message.contains("eng-001 is \(state.rawValue)"), "\(refusal.message)")
            case (.success(let next), nil):
                Issue.record("\(event.name) in \(state) gave \(next.state), but is refused by the table")
            case (.failure(let refusal), let to?):
                Issue.record("\(event.name) in \(state) was refused (\(refusal.message)), but the table says \(to)")
            }
        }
    }

    @Test("every event has a row")
    func everyEventHasARow() {
        let names = Set(Self.table.map(\.0.name))
        let all: [DesktopEvent] = [.provisioned, .booted(at: Self.now), .restarted, .stopped, .parked, .saved, .resumed, .recloned(version: 1, generation: nil, keepUser: true),
                                   .retired, .discarded, .failed(reason: ""), .lost(reason: ""), .claimed(user: "u", session: Self.session),
                                   .woken(session: Self.session), .sessionBegun(Self.session), .consoleConnected(client: ""), .consoleClosed,
                                   .loggedOff(action: .keep, floating: false, reason: nil), .adminRefreshed(by: "", keepUser: true),
                                   .adminDeleted(by: ""), .adminAssigned(user: "", by: "", session: Self.session), .adminUnassigned(by: ""),
                                   .rolloutRefreshed(policy: "", version: 1, rollingBack: false), .redefined(policy: "", generation: 1, restart: false),
                                   .rolloutRestarted(policy: ""), .remediated(policy: ""), .targeted(version: 1), .untargeted(version: nil), .regenerated(1)]
        // adminUnassigned needs a user: its own test below.
        #expect(Set(all.map(\.name)).subtracting(names) == ["adminUnassigned"])
    }

    @Test("unassign: only a desktop with a user, from a settled state; nothing of the user stays")
    func unassign() {
        let settled: Set<DesktopState> = [.ready, .saved, .assigned, .connected, .disconnected, .off, .failed]
        for state in DesktopState.allCases {
            let result = DesktopLifecycle.apply(.adminUnassigned(by: "root"), to: Self.desktop(state, user: "carol", sessionID: "s1"))
            if settled.contains(state) {
                let next = try? result.get()
                #expect(next?.state == .refreshing && next?.user == nil && next?.sessionID == nil, "\(state)")
                #expect(next?.reason == "unassigned by admin root")
            } else {
                #expect((try? result.get()) == nil, "\(state)")
            }
        }
        let free = DesktopLifecycle.apply(.adminUnassigned(by: "root"), to: Self.desktop(.ready))
        #expect(throws: DesktopLifecycle.Refusal.self) { try free.get() }
    }

    @Test("what each event writes besides the state")
    func fields() throws {
        // A saved spare claimed is the user's at once, and resumes (`starting`) with its session begun.
        let resumed = try DesktopLifecycle.apply(.claimed(user: "carol", session: Self.session), to: Self.desktop(.saved)).get()
        #expect(resumed.state == .starting && resumed.user == "carol" && resumed.sessionID == "s-new")
        // Only a free spare is saved.
        #expect(throws: DesktopLifecycle.Refusal.self) { try DesktopLifecycle.apply(.parked, to: Self.desktop(.ready, user: "carol")).get() }
        // A boot: a reservation's session counts from the boot; a user's desktop is assigned.
        let reserved = try DesktopLifecycle.apply(.booted(at: Self.now), to: Self.desktop(.starting, user: "carol", sessionID: "s1")).get()
        #expect(reserved.state == .assigned && reserved.sessionStartedAt == Self.now && reserved.reason == nil)
        // Cloned again: next incarnation, the rollout's target wins, the session ends, a floating desktop is freed.
        let recloned = try DesktopLifecycle.apply(.recloned(version: 4, generation: 6, keepUser: false),
                                                  to: Self.desktop(.refreshing, user: "carol", sessionID: "s1", target: 7)).get()
        #expect(recloned.incarnation == 3 && recloned.version == 7 && recloned.targetVersion == nil && recloned.generation == 6)
        #expect(recloned.user == nil && recloned.sessionID == nil && recloned.client == nil && recloned.reason == nil)
        let kept = try DesktopLifecycle.apply(.recloned(version: 4, generation: nil, keepUser: true), to: Self.desktop(.refreshing, user: "carol")).get()
        #expect(kept.version == 4 && kept.generation == 5 && kept.user == "carol")
        // A failure releases a reservation that never became a desktop, and only that.
        let first = try DesktopLifecycle.apply(.failed(reason: "boom"), to: Self.desktop(.starting, user: "carol", sessionID: "s1", incarnation: 1)).get()
        #expect(first.user == nil && first.sessionID == nil && first.reason == "boom")
        let later = try DesktopLifecycle.apply(.failed(reason: "boom"), to: Self.desktop(.starting, user: "carol", sessionID: "s1", incarnation: 2)).get()
        #expect(later.user == "carol" && later.sessionID == "s1")
        let refreshing = try DesktopLifecycle.apply(.failed(reason: "boom"), to: Self.desktop(.refreshing, user: "carol", incarnation: 1)).get()
        #expect(refreshing.user == "carol")
        // Claims need a free desktop; they begin the given session.
        let claimed = try DesktopLifecycle.apply(.claimed(user: "carol", session: Self.session), to: Self.desktop(.ready)).get()
        #expect(claimed.user == "carol" && claimed.sessionID == "s-new" && claimed.sessionStartedAt == Self.now && claimed.client == nil)
        #expect(throws: DesktopLifecycle.Refusal.self) {
            try DesktopLifecycle.apply(.claimed(user: "dave", session: Self.session), to: Self.desktop(.ready, user: "carol")).get()
        }
        #expect(throws: DesktopLifecycle.Refusal.self) {
            try DesktopLifecycle.apply(.adminAssigned(user: "dave", by: "root", session: Self.session), to: Self.desktop(.ready, user: "carol")).get()
        }
        // A console connects with its client; logoffs end the session by their action.
        let connected = try DesktopLifecycle.apply(.consoleConnected(client: "10.0.0.1:4000"), to: Self.desktop(.assigned, user: "carol", sessionID: "s1")).get()
        #expect(connected.client == "10.0.0.1:4000")
        let floating = try DesktopLifecycle.apply(.loggedOff(action: .refresh, floating: true, reason: "bye"), to: Self.desktop(.connected, user: "carol", sessionID: "s1")).get()
        #expect(floating.user == nil && floating.sessionID == nil && floating.reason == "bye")
        let dedicated = try DesktopLifecycle.apply(.loggedOff(action: .refresh, floating: false, reason: nil), to: Self.desktop(.connected, user: "carol", sessionID: "s1")).get()
        #expect(dedicated.user == "carol" && dedicated.sessionID == nil)
        let shutdown = try DesktopLifecycle.apply(.loggedOff(action: .shutdown, floating: true, reason: nil), to: Self.desktop(.connected, user: "carol", sessionID: "s1")).get()
        #expect(shutdown.user == "carol", "only a refresh frees a desktop")
        // Admins: a refresh keeps a dedicated desktop's user, a delete ends the session.
        let adminRefresh = try DesktopLifecycle.apply(.adminRefreshed(by: "root", keepUser: true), to: Self.desktop(.off, user: "carol")).get()
        #expect(adminRefresh.user == "carol" && adminRefresh.reason == "refreshed by admin root")
        let deleted = try DesktopLifecycle.apply(.adminDeleted(by: "root"), to: Self.desktop(.connected, user: "carol", sessionID: "s1")).get()
        #expect(deleted.sessionID == nil && deleted.reason == "deleted by admin root")
        // Rollouts: the target version, its removal (only the given one), the generation.
        let refresh = try DesktopLifecycle.apply(.rolloutRefreshed(policy: "p", version: 4, rollingBack: false), to: Self.desktop(.ready)).get()
        #expect(refresh.targetVersion == 4 && refresh.reason == "rollout p: to v4")
        let redefined = try DesktopLifecycle.apply(.redefined(policy: "p", generation: 6, restart: true), to: Self.desktop(.assigned, user: "carol")).get()
        #expect(redefined.generation == 6 && redefined.reason == "rollout p: restarting into generation 6")
        let other = try DesktopLifecycle.apply(.untargeted(version: 4), to: Self.desktop(.assigned, target: 7)).get()
        #expect(other.targetVersion == 7, "another rollout's target stays")
        let same = try DesktopLifecycle.apply(.untargeted(version: 7), to: Self.desktop(.assigned, target: 7)).get()
        #expect(same.targetVersion == nil)
    }
}
