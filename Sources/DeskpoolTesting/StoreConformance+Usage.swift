public import DeskpoolCore
import Foundation

extension StoreConformance {
    /// The usage history follows the desktops' own writes: a claim begins a session running at
    /// once, a reservation one that is provisioned, then ready when it boots; connections are
    /// counted (the first kept); a logoff, a failure, a delete or a rollout's change ends it
    /// with its reason, once. A refresh after a logoff begins nothing, a refused transition
    /// writes nothing. Queries filter by pool, user and period, oldest request first, at most
    /// `limit`; records of sessions ended before a time are forgotten and counted.
    public static func usage(_ store: any Store) async throws {
        func all() async throws -> [UsageRecord] { try await store.usage(UsageQuery(limit: .max)) }
        func record(_ session: String?, fileID: String = #fileID, line: Int = #line) async throws -> UsageRecord {
            let session = try require(session, "a session id", fileID: fileID, line: line)
            return try require(try await all().first { $0.session == session }, "the record of session \(session)", fileID: fileID, line: line)
        }
        // Store stamps are whole milliseconds of the store's clock: a pause keeps steps apart.
        func tick() async throws { try await Task.sleep(for: .milliseconds(3)) }

        try expectEqual(try await all(), [], "the usage of an empty store")

        // A: a claim of a ready desktop: running and the user's at once.
        _ = try await store.insertDesktop(desktop("eng-001", state: .ready), actor: admin, limit: nil)
        try expectEqual(try await all(), [], "a ready desktop without a user is no session")
        let claimed = try require(try await store.claimReady(pool: "eng", user: "bob", actor: "bob"), "bob's claim")
        let a = try await record(claimed.sessionID)
        try expectEqual(a, UsageRecord(session: a.session, pool: "eng", desktopID: "id-eng-001", desktop: "eng-001", user: "bob", version: 1,
                                       requestedAt: claimed.updatedAt, readyAt: claimed.updatedAt),
                        "the record of a claim (ready when requested, never provisioned)")
        try await tick()

        // B: a reservation: requested now, ready when its desktop has booted.
        var reserved = desktop("art-001", pool: "art", version: 3, state: .provisioning, user: "carol")
        let session = DesktopSession.new(at: t0)
        reserved.sessionID = session.id  // as the broker's `begin` does
        reserved.sessionStartedAt = session.startedAt
        _ = try await store.insertDesktop(reserved, actor: "carol", limit: nil)
        let requested = try await record(session.id)
        try expectEqual(requested.readyAt, nil, "a reservation is not ready")
        try expectEqual(requested.pool, "art", "a reservation's pool")
        try expectEqual(requested.user, "carol", "a reservation's user")
        try expectEqual(requested.version, 3, "a reservation's version")
        try expect(requested.requestedAt >= a.requestedAt, "a reservation is requested when it is inserted")
        try await tick()
        let provisioned = try require(try await store.transition(reserved.id, .provisioned, actor: "broker"), "the reservation provisioned")
        var expected = requested
        expected.provisionedAt = provisioned.updatedAt
        try expectEqual(try await record(session.id), expected, "a provisioned reservation, not running yet")
        try await tick()
        let booted = try require(try await store.transition(reserved.id, .booted(at: Date()), actor: "broker"), "the reservation booted")
        try expectEqual(booted.state, .assigned, "a booted reservation's state")
        expected.readyAt = booted.updatedAt
        try expectEqual(try await record(session.id), expected, "a reservation ready when it boots")

        // Refused transitions write no usage.
        let before = try await all()
        try expectEqual(try await store.transition(reserved.id, .consoleClosed, actor: "broker"), nil, "a close with no console")
        try expectEqual(try await store.transition(reserved.id, .consoleConnected(client: "10.0.0.9:5900"), expecting: [.ready], actor: "broker"),
                        nil, "a connect expecting another state")
        try expectEqual(try await store.transition("missing", .consoleConnected(client: "10.0.0.9:5900"), actor: "broker"), nil,
                        "a connect to a missing desktop")
        try expectEqual(try await all(), before, "the usage after refused transitions")

        // Connections: counted, the first kept, the last disconnection kept.
        try await tick()
        let first = try require(try await store.transition(reserved.id, .consoleConnected(client: "10.0.0.9:5900"), actor: "gateway"), "a connect")
        expected.connects = 1
        expected.firstConnectedAt = first.updatedAt
        try expectEqual(try await record(session.id), expected, "the session after its first connection")
        try await tick()
        let closed = try require(try await store.transition(reserved.id, .consoleClosed, actor: "gateway"), "a close")
        expected.lastDisconnectedAt = closed.updatedAt
        try expectEqual(try await record(session.id), expected, "the session after a disconnection")
        try await tick()
        _ = try require(try await store.transition(reserved.id, .consoleConnected(client: "10.0.0.9:5901"), actor: "gateway"), "a reconnect")
        try await tick()
        let closedAgain = try require(try await store.transition(reserved.id, .consoleClosed, actor: "gateway"), "a second close")
        expected.connects = 2
        expected.lastDisconnectedAt = closedAgain.updatedAt
        try expectEqual(try await record(session.id), expected, "two connections: the first kept, the last disconnection")
        try await tick()

        // The logoff ends it, with its reason.
        let loggedOff = try require(try await store.transition(reserved.id, .loggedOff(action: .refresh, floating: true, reason: "user"), actor: "carol"),
                                    "carol's logoff")
        expected.endedAt = loggedOff.updatedAt
        expected.endReason = "user"
        try expectEqual(try await record(session.id), expected, "the session ended by the logoff")
        let b = expected
        try await tick()

        // A (ended): the desktop breaks under its user; a later delete keeps the first end.
        let lost = try require(try await store.transition(claimed.id, .lost(reason: "domain vanished"), actor: "broker"), "bob's desktop lost")
        try expectEqual(try await record(a.session).endedAt, lost.updatedAt, "a session ended by a failure")
        try expectEqual(try await record(a.session).endReason, "failed: domain vanished", "the reason of a failure")
        try await tick()
        _ = try await store.transition(claimed.id, .adminDeleted(by: "root"), actor: admin)
        try expectEqual(try await record(a.session).endReason, "failed: domain vanished", "a session ends once")
        try expectEqual(try await record(a.session).endedAt, lost.updatedAt, "the end of a session ended once")
        let aEnded = try await record(a.session)
        try await tick()

        // The refresh after the logoff begins nothing; the next claim of the desktop does (C, open).
        _ = try await store.transition(reserved.id, .recloned(version: 3, generation: nil, keepUser: false), actor: "broker")
        _ = try await store.transition(reserved.id, .provisioned, actor: "broker")
        let refreshed = try require(try await store.transition(reserved.id, .booted(at: Date()), actor: "broker"), "the refreshed desktop")
        try expectEqual(refreshed.state, .ready, "the refreshed desktop's state")
        try expectEqual(try await all().count, 2, "records after a refresh (the sessions, nothing more)")
        try expectEqual(try await record(b.session), b, "an ended session after its desktop's refresh")
        let daves = try require(try await store.claimReady(pool: "art", user: "dave", actor: "dave"), "dave's claim")
        let c = try await record(daves.sessionID)
        try expect(c.session != b.session, "a new session on the same desktop")
        try await tick()

        // D: deleting a desktop in a session ends it.
        _ = try await store.insertDesktop(desktop("eng-002", state: .ready), actor: admin, limit: nil)
        let erins = try require(try await store.claimReady(pool: "eng", user: "erin", actor: "erin"), "erin's claim")
        try await tick()
        try await store.deleteDesktop(id: erins.id, actor: "broker")
        let d = try await record(erins.sessionID)
        try expectEqual(d.endReason, "deleted", "the reason of a session whose desktop was deleted")
        try expect(d.endedAt.map { $0 > d.requestedAt } ?? false, "a deleted desktop's session ended after it began")
        try await tick()

        // E: a rollout's desktop change ends it in the same write.
        _ = try await store.insertDesktop(desktop("eng-003", state: .ready), actor: admin, limit: nil)
        let franks = try require(try await store.claimReady(pool: "eng", user: "frank", actor: "frank"), "frank's claim")
        let rollout = Rollout(id: "r9", policy: "eng-v2", kind: .update, source: "kind: UpdatePolicy\n",
                              pools: [Rollout.PoolChange(pool: "eng", fromVersion: 1, toVersion: 2)], waves: 1, createdAt: t0, createdBy: admin)
        try await store.createRollout(rollout, items: [RolloutItem(rollout: "r9", desktopID: franks.id, desktop: franks.name, pool: "eng",
                                                                   position: 0, wave: 0, from: "v1", to: "v2")], actor: admin)
        try await tick()
        let logoff = DesktopEvent.loggedOff(action: .refresh, floating: true, reason: "rollout r9")
        _ = try await store.updateRolloutItems(rollout: "r9", [RolloutItemUpdate(desktopID: franks.id, from: [.pending], desktop: logoff) { item, _ in
            item.status = .inProgress
        }], actor: admin)
        let e = try await record(franks.sessionID)
        try expectEqual(e.endReason, "rollout r9", "a session ended by a rollout's change")
        try expectEqual(e.endedAt, try await store.desktop(id: franks.id)?.updatedAt, "the end of a session ended by a rollout")

        // Exactly the sessions, oldest request first.
        let sessions = try await all()
        try expectEqual(sessions.map(\.session), [a.session, b.session, c.session, d.session, e.session], "every session, oldest first")

        // Queries: pool, user, period, limit.
        try expectEqual(try await store.usage(UsageQuery(pool: "eng")).map(\.session), [a.session, d.session, e.session], "eng's sessions")
        try expectEqual(try await store.usage(UsageQuery(pool: "art")).map(\.session), [b.session, c.session], "art's sessions")
        try expectEqual(try await store.usage(UsageQuery(user: "carol")), [b], "carol's sessions")
        try expectEqual(try await store.usage(UsageQuery(pool: "eng", user: "carol")), [], "carol's sessions in eng")
        try expectEqual(try await store.usage(UsageQuery(pool: "art", user: "dave")).map(\.session), [c.session], "dave's sessions in art")
        let bEnd = try require(b.endedAt, "the end of carol's session")
        try expectEqual(try await store.usage(UsageQuery(from: bEnd)).map(\.session), sessions.map(\.session),
                        "sessions open at or after the end of the first one ended")
        try expectEqual(try await store.usage(UsageQuery(from: bEnd.addingTimeInterval(0.001))).map(\.session),
                        [a.session, c.session, d.session, e.session], "sessions open after the first one ended")
        let later = Date().addingTimeInterval(86_400)
        try expectEqual(try await store.usage(UsageQuery(from: later)).map(\.session), [c.session], "a session still open overlaps any later time")
        try expectEqual(try await store.usage(UsageQuery(to: a.requestedAt)), [], "sessions requested before the first")
        try expectEqual(try await store.usage(UsageQuery(to: a.requestedAt.addingTimeInterval(0.001))).map(\.session), [a.session],
                        "sessions requested up to the first")
        try expectEqual(try await store.usage(UsageQuery(from: bEnd.addingTimeInterval(0.001), to: c.requestedAt)).map(\.session), [a.session],
                        "sessions overlapping a period")
        try expectEqual(try await store.usage(UsageQuery(pool: "eng", from: later, to: later.addingTimeInterval(3600))), [],
                        "no session of eng open later")
        try expectEqual(try await store.usage(UsageQuery(limit: 2)).map(\.session), [a.session, b.session], "at most the limit, oldest first")
        try expectEqual(try await store.usage(UsageQuery(limit: 0)), [], "a limit of none")

        // Forgetting: only sessions ended before the time, counted; open ones stay.
        try expectEqual(try await store.deleteUsage(endedBefore: bEnd), 0, "records ended before the first end")
        try expectEqual(try await store.deleteUsage(endedBefore: try require(aEnded.endedAt, "the end of bob's session")), 1,
                        "records ended before bob's")
        try expectEqual(try await all().map(\.session), [a.session, c.session, d.session, e.session], "the records left")
        try expectEqual(try await store.deleteUsage(endedBefore: later), 3, "records of every ended session")
        try expectEqual(try await all().map(\.session), [c.session], "an open session is kept")
        try expectEqual(try await store.deleteUsage(endedBefore: later), 0, "nothing left to forget")
    }

    /// A session's first console ticket is kept; a later one, or one of an unknown session,
    /// changes nothing.
    public static func usageTicket(_ store: any Store) async throws {
        _ = try await store.insertDesktop(desktop("eng-001", state: .ready), actor: admin, limit: nil)
        let claimed = try require(try await store.claimReady(pool: "eng", user: "bob", actor: "bob"), "bob's claim")
        let session = try require(claimed.sessionID, "the claim's session")
        try await store.noteUsageTicket(session: session, at: t0)
        try await store.noteUsageTicket(session: session, at: t0.addingTimeInterval(60))
        try await store.noteUsageTicket(session: "no-such-session", at: t0)
        let records = try await store.usage(UsageQuery(limit: .max))
        try expectEqual(records.map(\.ticketAt), [t0], "the first ticket, once")
    }

    /// Capacity samples: recorded in one call, read by pool and period oldest first (at most
    /// `limit`), a sample of the same pool and time replaced, and forgotten before a time.
    public static func capacitySamples(_ store: any Store) async throws {
        let eng = (0..<4).map { CapacitySample(pool: "eng", at: t0.addingTimeInterval(Double($0) * 300), ready: $0, saved: 1, inUse: 2 * $0, preparing: 0) }
        let art = CapacitySample(pool: "art", at: t0, ready: 5, saved: 0, inUse: 0, preparing: 3)
        try await store.recordCapacity(eng + [art])
        try await store.recordCapacity([])
        let day = t0.addingTimeInterval(86_400)
        try expectEqual(try await store.capacitySamples(pool: "eng", from: t0, to: day, limit: 100), eng, "eng's samples, oldest first")
        try expectEqual(try await store.capacitySamples(pool: "art", from: t0, to: day, limit: 100), [art], "art's sample")
        try expectEqual(try await store.capacitySamples(pool: "eng", from: eng[1].at, to: eng[3].at, limit: 100), Array(eng[1...2]),
                        "a period: from included, to not")
        try expectEqual(try await store.capacitySamples(pool: "eng", from: t0, to: day, limit: 2), Array(eng[0...1]), "at most limit")
        var again = eng[2]
        again.ready = 9
        try await store.recordCapacity([again])
        try expectEqual(try await store.capacitySamples(pool: "eng", from: t0, to: day, limit: 100), [eng[0], eng[1], again, eng[3]],
                        "a sample of the same pool and time replaces the one recorded")
        try expectEqual(try await store.deleteCapacitySamples(before: eng[2].at), 3, "samples before a time forgotten (eng's two, art's)")
        try expectEqual(try await store.capacitySamples(pool: "eng", from: t0, to: day, limit: 100), [again, eng[3]], "what is left")
    }
}
