import DeskpoolCore
import Foundation
import Testing

/// The session tracker's decisions, event by event.
@Suite("Console tracker")
struct ConsoleTrackerTests {
    static let key = ConsoleTracker.Key(host: "a", domain: "eng-001")
    static let t0 = Date(timeIntervalSince1970: 1_000)

    /// Feeds (seconds, phase, channel) steps and collects the actions, ticking at every step.
    static func run(_ steps: [(Double, ConsolePhase?, String)], debounce: TimeInterval = 2) -> [ConsoleTracker.Action] {
        var tracker = ConsoleTracker(debounce: debounce)
        var actions: [ConsoleTracker.Action] = []
        for (at, phase, channel) in steps {
            let now = t0.addingTimeInterval(at)
            if let phase { actions += tracker.handle(phase, on: key, channel: channel, client: "client-of-\(channel)", at: now) }
            actions += tracker.tick(at: now)
        }
        return actions
    }

    @Test("four channels: connected once, at the first initialize, with that channel's client")
    func connectsOnce() {
        let channels = ["c:1", "c:2", "c:3", "c:4"]
        let steps = channels.map { (0.0, ConsolePhase.connect, $0) } + channels.map { (0.1, ConsolePhase.initialize, $0) }
        #expect(Self.run(steps) == [.connected(Self.key, client: "client-of-c:1")])
    }

    @Test("all channels closed: disconnected only after the debounce")
    func debounced() {
        let steps: [(Double, ConsolePhase?, String)] = [
            (0, .connect, "c:1"), (0, .initialize, "c:1"), (0, .connect, "c:2"), (0, .initialize, "c:2"),
            (5, .disconnect, "c:1"), (5.5, .disconnect, "c:2"), (7.4, nil, ""), (7.6, nil, ""),
        ]
        #expect(Self.run(steps) == [.connected(Self.key, client: "client-of-c:1"), .disconnected(Self.key)])
        // Still nothing at 7.4 (1.9 s after the last channel closed).
        #expect(Self.run(Array(steps.prefix(7))) == [.connected(Self.key, client: "client-of-c:1")])
    }

    @Test("a false disconnect (channels reopen within the debounce) changes nothing")
    func falseDisconnect() {
        let steps: [(Double, ConsolePhase?, String)] = [
            (0, .connect, "c:1"), (0, .initialize, "c:1"), (1, .disconnect, "c:1"),
            (2, .connect, "c:9"), (2.2, .initialize, "c:9"), (10, nil, ""),
        ]
        #expect(Self.run(steps) == [.connected(Self.key, client: "client-of-c:1")])
    }

    @Test("connect then disconnect without initialize: a refused ticket, not a session")
    func failedTicket() {
        let steps: [(Double, ConsolePhase?, String)] = [(0, .connect, "c:1"), (0.1, .disconnect, "c:1"), (10, nil, "")]
        #expect(Self.run(steps) == [.failedTicket(Self.key, client: "client-of-c:1")])
    }

    @Test("a new client after a real disconnect is connected again")
    func reconnect() {
        let steps: [(Double, ConsolePhase?, String)] = [
            (0, .connect, "c:1"), (0, .initialize, "c:1"), (1, .disconnect, "c:1"), (4, nil, ""),
            (5, .connect, "c:2"), (5, .initialize, "c:2"),
        ]
        #expect(Self.run(steps) == [.connected(Self.key, client: "client-of-c:1"), .disconnected(Self.key), .connected(Self.key, client: "client-of-c:2")])
    }

    @Test("a disconnect of an unknown channel of a desktop not known to be connected is ignored")
    func unknownChannel() {
        #expect(Self.run([(0, .disconnect, "c:7"), (5, nil, "")]).isEmpty)
    }

    @Test("after a broker restart: a session connected before is disconnected when its old channels close, unless new ones come up")
    func adopted() {
        var tracker = ConsoleTracker(debounce: 2)
        tracker.adopt(Self.key)
        let at = { (s: Double) in Self.t0.addingTimeInterval(s) }
        #expect(tracker.handle(.disconnect, on: Self.key, channel: "old:1", client: "old:1", at: at(1)).isEmpty)
        #expect(tracker.handle(.disconnect, on: Self.key, channel: "old:2", client: "old:2", at: at(1.1)).isEmpty)
        #expect(tracker.tick(at: at(2.5)).isEmpty)
        #expect(tracker.tick(at: at(3.1)) == [.disconnected(Self.key)])

        // Reconnected within the debounce (a new client): stays connected, nothing reported.
        var again = ConsoleTracker(debounce: 2)
        again.adopt(Self.key)
        _ = again.handle(.disconnect, on: Self.key, channel: "old:1", client: "old:1", at: at(1))
        _ = again.handle(.connect, on: Self.key, channel: "new:1", client: "new:1", at: at(1.5))
        #expect(again.handle(.initialize, on: Self.key, channel: "new:1", client: "new:1", at: at(1.6)).isEmpty)
        #expect(again.tick(at: at(10)).isEmpty)
    }

    @Test("the display has no client (events missed): a connected session is disconnected at once, and connects again with a new client")
    func noClients() {
        let at = { (s: Double) in Self.t0.addingTimeInterval(s) }
        // Adopted after a restart.
        var adopted = ConsoleTracker(debounce: 2)
        adopted.adopt(Self.key)
        #expect(adopted.noClients(on: Self.key) == [.disconnected(Self.key)])
        #expect(adopted.noClients(on: Self.key).isEmpty, "once")
        #expect(adopted.tick(at: at(10)).isEmpty)
        // Tracked channels whose disconnects were missed (the host's connection was away).
        var tracked = ConsoleTracker(debounce: 2)
        _ = tracked.handle(.connect, on: Self.key, channel: "c:1", client: "c:1", at: at(0))
        #expect(tracked.handle(.initialize, on: Self.key, channel: "c:1", client: "c:1", at: at(0.1)) == [.connected(Self.key, client: "c:1")])
        #expect(tracked.noClients(on: Self.key) == [.disconnected(Self.key)])
        _ = tracked.handle(.connect, on: Self.key, channel: "c:2", client: "c:2", at: at(5))
        #expect(tracked.handle(.initialize, on: Self.key, channel: "c:2", client: "c:2", at: at(5.1)) == [.connected(Self.key, client: "c:2")],
                "a client that comes back connects the session again")
        // Not connected: nothing to say.
        var idle = ConsoleTracker(debounce: 2)
        #expect(idle.noClients(on: Self.key).isEmpty)
    }

    @Test("the domain stopped while a client was connected (no disconnect comes): forgotten, and the next client of that name connects")
    func domainRestarted() {
        let at = { (s: Double) in Self.t0.addingTimeInterval(s) }
        var tracker = ConsoleTracker(debounce: 2)
        _ = tracker.handle(.connect, on: Self.key, channel: "c:1", client: "c:1", at: at(0))
        #expect(tracker.handle(.initialize, on: Self.key, channel: "c:1", client: "c:1", at: at(0.1)) == [.connected(Self.key, client: "c:1")])
        #expect(tracker.reported(onHost: "a") == [Self.key])
        #expect(tracker.reported(onHost: "b").isEmpty)
        // Destroyed at logoff with the client still on: qemu is gone, no disconnect follows.
        #expect(tracker.domainRestarted(Self.key) == [.disconnected(Self.key)])
        #expect(tracker.tick(at: at(10)).isEmpty)
        #expect(tracker.reported(onHost: nil).isEmpty)
        // The refreshed desktop, same domain name, its next user's client.
        _ = tracker.handle(.connect, on: Self.key, channel: "c:2", client: "c:2", at: at(20))
        #expect(tracker.handle(.initialize, on: Self.key, channel: "c:2", client: "c:2", at: at(20.1)) == [.connected(Self.key, client: "c:2")])
        // A domain never connected: nothing to say.
        var idle = ConsoleTracker(debounce: 2)
        #expect(idle.domainRestarted(Self.key).isEmpty)
    }
}
