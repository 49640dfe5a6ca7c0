import Synchronization

/// The gateway's books: which tunnels hold slots under the limits, what each session's
/// tunnels carried, and what was refused. Admission checks and takes a slot under one lock,
/// so concurrent CONNECTs of a session cannot overrun its limit.
final class TunnelLedger: Sendable {
    struct Limits: Sendable, Hashable {
        var perSession: Int
        var total: Int
    }

    private struct SessionBook {
        var desktop: String
        var open: [ObjectIdentifier: TunnelMeter] = [:]
        var totalTunnels = 0
        var channels: [TunnelChannel: Int] = [:]
        var closedClientToDesktop = 0
        var closedDesktopToClient = 0
        /// When the session last gained or lost a tunnel, in `Books.clock` ticks.
        var lastChange: UInt64 = 0
    }

    private struct Books {
        var sessions: [String: SessionBook] = [:]
        var open = 0
        var total = 0
        var refusals: [TunnelRefusal: Int] = [:]
        /// Bytes of sessions dropped from `sessions`, so the totals stay monotonic.
        var forgottenClientToDesktop = 0
        var forgottenDesktopToClient = 0
        var clock: UInt64 = 0
    }

    private let books = Mutex(Books())
    /// Sessions without open tunnels kept for statistics; older ones are dropped, so the books
    /// do not grow with every session the gateway ever saw.
    let retainedIdleSessions: Int

    init(retainedIdleSessions: Int = 1024) {
        self.retainedIdleSessions = retainedIdleSessions
    }

    /// Takes a slot for a tunnel of `session`, or says which limit is reached.
    func admit(session: String, desktop: String, limits: Limits) -> Result<TunnelTicket, TunnelRefusal> {
        let ticket = TunnelTicket(session: session, ledger: self)
        return books.withLock { books in
            var book = books.sessions[session] ?? SessionBook(desktop: desktop)
            guard book.open.count < limits.perSession else { return .failure(.sessionLimit) }
            guard books.open < limits.total else { return .failure(.gatewayLimit) }
            books.clock += 1
            book.desktop = desktop
            book.open[ObjectIdentifier(ticket)] = ticket.meter
            book.totalTunnels += 1
            book.lastChange = books.clock
            books.sessions[session] = book
            books.open += 1
            books.total += 1
            return .success(ticket)
        }
    }

    func record(_ channel: TunnelChannel, for ticket: TunnelTicket) {
        books.withLock { $0.sessions[ticket.session]?.channels[channel, default: 0] += 1 }
    }

    func count(_ refusal: TunnelRefusal) {
        books.withLock { $0.refusals[refusal, default: 0] += 1 }
    }

    /// Called once per admitted ticket, by `TunnelTicket.release()`.
    func release(_ ticket: TunnelTicket) {
        books.withLock { books in
            guard var book = books.sessions[ticket.session],
                  let meter = book.open.removeValue(forKey: ObjectIdentifier(ticket))
            else { return }
            let bytes = meter.bytes
            book.closedClientToDesktop += bytes.clientToDesktop
            book.closedDesktopToClient += bytes.desktopToClient
            books.clock += 1
            book.lastChange = books.clock
            books.sessions[ticket.session] = book
            books.open -= 1
            if book.open.isEmpty { Self.dropOldIdleSessions(&books, keeping: retainedIdleSessions) }
        }
    }

    func snapshot() -> GatewayStatistics {
        books.withLock { books in
            var statistics = GatewayStatistics()
            statistics.openTunnels = books.open
            statistics.totalTunnels = books.total
            statistics.refusals = books.refusals
            statistics.bytesClientToDesktop = books.forgottenClientToDesktop
            statistics.bytesDesktopToClient = books.forgottenDesktopToClient
            for (id, book) in books.sessions {
                var session = GatewayStatistics.Session(desktop: book.desktop)
                session.openTunnels = book.open.count
                session.totalTunnels = book.totalTunnels
                session.channels = book.channels
                session.bytesClientToDesktop = book.closedClientToDesktop
                session.bytesDesktopToClient = book.closedDesktopToClient
                for meter in book.open.values {
                    let bytes = meter.bytes
                    session.bytesClientToDesktop += bytes.clientToDesktop
                    session.bytesDesktopToClient += bytes.desktopToClient
                }
                statistics.bytesClientToDesktop += session.bytesClientToDesktop
                statistics.bytesDesktopToClient += session.bytesDesktopToClient
                statistics.sessions[id] = session
            }
            return statistics
        }
    }

    private static func dropOldIdleSessions(_ books: inout Books, keeping limit: Int) {
        let idle = books.sessions.filter { $0.value.open.isEmpty }
        guard idle.count > limit else { return }
        for (id, book) in idle.sorted(by: { $0.value.lastChange < $1.value.lastChange }).prefix(idle.count - limit) {
            books.forgottenClientToDesktop += book.closedClientToDesktop
            books.forgottenDesktopToClient += book.closedDesktopToClient
            books.sessions[id] = nil
        }
    }
}
