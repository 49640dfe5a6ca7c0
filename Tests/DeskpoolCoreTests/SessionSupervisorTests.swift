import DeskpoolCore
import Foundation
import Testing

@Suite("Session supervisor")
struct SessionSupervisorTests {
    static let now = Date(timeIntervalSince1970: 100_000)

    static func pool(_ assignment: PoolSpec.Assignment = .floating, disconnect: Int = 60, unconnected: Int = 120, max: Int = 0, warning: Int = 30) -> PoolSpec {
        var pool = PoolSpec(name: "eng", template: "tiny", assignment: assignment)
        pool.session.disconnectTimeoutSeconds = disconnect
        pool.session.unconnectedTimeoutSeconds = unconnected
        pool.session.maxSessionSeconds = max
        pool.session.warningSeconds = warning
        return pool
    }

    static func desktop(_ state: DesktopState, since: Double, started: Double? = nil, client: String? = nil, session: String? = "s1") -> Desktop {
        Desktop(id: "d1", name: "eng-001", pool: "eng", host: "a", template: "tiny", version: 1, state: state, user: "alice",
                sessionID: session, sessionStartedAt: started.map { now.addingTimeInterval(-$0) }, client: client,
                createdAt: now.addingTimeInterval(-10_000), updatedAt: now.addingTimeInterval(-since))
    }

    static func review(_ desktop: Desktop, _ pool: PoolSpec, warned: Set<String> = []) -> [String] {
        SessionSupervisor().review([desktop], pools: ["eng": pool], warned: warned, now: now).map {
            switch $0 {
            case .logoff(_, let reason): "logoff: \(reason)"
            case .warn(_, let message): "warn: \(message)"
            }
        }
    }

    @Test("disconnected past the timeout is logged off; before it, or with timeout 0, not")
    func disconnectTimeout() {
        #expect(Self.review(Self.desktop(.disconnected, since: 61, client: "c"), Self.pool()) == ["logoff: disconnected for more than 60 s"])
        #expect(Self.review(Self.desktop(.disconnected, since: 59, client: "c"), Self.pool()).isEmpty)
        #expect(Self.review(Self.desktop(.disconnected, since: 9_999, client: "c"), Self.pool(disconnect: 0)).isEmpty)
        #expect(Self.review(Self.desktop(.connected, since: 9_999, client: "c"), Self.pool()).isEmpty)
    }

    @Test("assigned and never connected past the timeout is released; a kept desktop without a session is left alone")
    func unconnected() {
        #expect(Self.review(Self.desktop(.assigned, since: 121), Self.pool()) == ["logoff: nobody connected within 120 s"])
        #expect(Self.review(Self.desktop(.assigned, since: 100), Self.pool()).isEmpty)
        #expect(Self.review(Self.desktop(.assigned, since: 9_999, session: nil), Self.pool(.dedicated)).isEmpty)
    }

    @Test("the longest session: warned once before the end, logged off at the end")
    func maxSession() {
        let pool = Self.pool(max: 600, warning: 120)
        #expect(Self.review(Self.desktop(.connected, since: 1, started: 400, client: "c"), pool).isEmpty)
        #expect(Self.review(Self.desktop(.connected, since: 1, started: 500, client: "c"), pool) == ["warn: Deskpool: this session ends in 100 seconds. Save your work."])
        #expect(Self.review(Self.desktop(.connected, since: 1, started: 500, client: "c"), pool, warned: ["s1"]).isEmpty)
        #expect(Self.review(Self.desktop(.connected, since: 1, started: 600, client: "c"), pool) == ["logoff: the session reached its limit of 600 s"])
    }
}
