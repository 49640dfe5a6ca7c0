@testable import DeskpoolGateway
import Testing

@Suite("Tunnel ledger")
struct TunnelLedgerTests {
    let limits = TunnelLedger.Limits(perSession: 2, total: 3)

    @Test("admission stops at the session limit, then at the total; a release frees one slot once")
    func admission() throws {
        let ledger = TunnelLedger()
        let a1 = try ledger.admit(session: "a", desktop: "d1", limits: limits).get()
        _ = try ledger.admit(session: "a", desktop: "d1", limits: limits).get()
        #expect(throws: TunnelRefusal.sessionLimit) { try ledger.admit(session: "a", desktop: "d1", limits: limits).get() }
        _ = try ledger.admit(session: "b", desktop: "d2", limits: limits).get()
        #expect(throws: TunnelRefusal.gatewayLimit) { try ledger.admit(session: "c", desktop: "d3", limits: limits).get() }
        a1.release()
        a1.release()
        #expect(ledger.snapshot().openTunnels == 2)
        _ = try ledger.admit(session: "c", desktop: "d3", limits: limits).get()
        #expect(throws: TunnelRefusal.gatewayLimit) { try ledger.admit(session: "a", desktop: "d1", limits: limits).get() }
    }

    @Test("bytes and channels add up per session and in total, open and closed")
    func counting() throws {
        let ledger = TunnelLedger()
        let t1 = try ledger.admit(session: "a", desktop: "d1", limits: limits).get()
        let t2 = try ledger.admit(session: "a", desktop: "d1", limits: limits).get()
        t1.identify(.spice(.display))
        t2.identify(.tls)
        t1.meter.add(100, .clientToDesktop)
        t1.meter.add(5000, .desktopToClient)
        t2.meter.add(7, .clientToDesktop)
        t1.release()
        let snapshot = ledger.snapshot()
        let session = try #require(snapshot.sessions["a"])
        #expect(session.desktop == "d1")
        #expect(session.openTunnels == 1 && session.totalTunnels == 2)
        #expect(session.channels == [.spice(.display): 1, .tls: 1])
        #expect(session.bytesClientToDesktop == 107 && session.bytesDesktopToClient == 5000)
        #expect(snapshot.bytesClientToDesktop == 107 && snapshot.bytesDesktopToClient == 5000)
        #expect(snapshot.totalTunnels == 2 && snapshot.openTunnels == 1)
    }

    @Test("idle sessions beyond the retained number are dropped, oldest first, keeping the totals")
    func retention() throws {
        let ledger = TunnelLedger(retainedIdleSessions: 2)
        for session in ["s1", "s2", "s3"] {
            let ticket = try ledger.admit(session: session, desktop: "d", limits: limits).get()
            ticket.meter.add(10, .desktopToClient)
            ticket.release()
        }
        let snapshot = ledger.snapshot()
        #expect(Set(snapshot.sessions.keys) == ["s2", "s3"])
        #expect(snapshot.bytesDesktopToClient == 30)
        #expect(snapshot.totalTunnels == 3)
    }
}
