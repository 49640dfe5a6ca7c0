public import Foundation

/// Turns libvirt's per-channel console events into session changes, with no I/O.
///
/// SPICE reports each channel (main, display, inputs, ...) on its own: connect, then
/// initialize once the ticket was accepted, then disconnect. The first initialize on a desktop
/// makes its session connected; when every channel has closed the tracker waits `debounce`
/// (spice-gtk drops and reopens channels when it moves to secure ones) before reporting the
/// session disconnected. A channel that disconnects without having initialized presented a
/// wrong or expired ticket: a security event.
public struct ConsoleTracker: Sendable {
    /// A desktop: its host and domain name.
    public struct Key: Sendable, Hashable {
        public var host: String
        public var domain: String
        public init(host: String, domain: String) {
            self.host = host
            self.domain = domain
        }
    }

    public enum Action: Sendable, Hashable {
        /// The session's first channel is up; `client` is the real client's address.
        case connected(Key, client: String)
        /// Every channel has been closed for the debounce time.
        case disconnected(Key)
        /// A channel was refused: wrong, expired or replaced ticket.
        case failedTicket(Key, client: String)
    }

    struct Desktop {
        /// Channels (by their connection's remote end) that initialized, with the real client.
        var open: [String: String] = [:]
        /// Channels connected but not (yet) initialized.
        var pending: [String: String] = [:]
        /// Whether `connected` was reported and not yet undone.
        var reported = false
        /// Since when no channel is open (while `reported`).
        var idleSince: Date?
        /// Connected before this tracker started (a broker restart): its channels are unknown,
        /// so the first disconnect of any channel counts as the session closing.
        var adopted = false
    }

    public let debounce: TimeInterval
    var desktops: [Key: Desktop] = [:]

    public init(debounce: TimeInterval = 2) { self.debounce = debounce }

    /// One console event. `channel` is the connection's remote end as the hypervisor reports
    /// it; `client` the real client behind it (the same unless it came through the gateway).
    public mutating func handle(_ phase: ConsolePhase, on key: Key, channel: String, client: String, at now: Date) -> [Action] {
        var desktop = desktops[key] ?? Desktop()
        defer { desktops[key] = desktop.open.isEmpty && desktop.pending.isEmpty && !desktop.reported ? nil : desktop }
        switch phase {
        case .connect:
            desktop.pending[channel] = client
            return []
        case .initialize:
            let client = desktop.pending.removeValue(forKey: channel) ?? client
            desktop.open[channel] = client
            desktop.idleSince = nil
            desktop.adopted = false  // its channels are known from here on
            guard !desktop.reported else { return [] }
            desktop.reported = true
            return [.connected(key, client: client)]
        case .disconnect:
            if desktop.open.removeValue(forKey: channel) != nil {
                if desktop.open.isEmpty, desktop.reported { desktop.idleSince = now }
                return []
            }
            if let client = desktop.pending.removeValue(forKey: channel) {
                return [.failedTicket(key, client: client)]
            }
            if desktop.adopted, desktop.reported, desktop.open.isEmpty, desktop.idleSince == nil {
                desktop.idleSince = now  // a channel opened before the restart closed
            }
            return []
        }
    }

    /// Sessions whose channels have all been closed for the debounce time.
    public mutating func tick(at now: Date) -> [Action] {
        var actions: [Action] = []
        for (key, var desktop) in desktops {
            guard let idle = desktop.idleSince, desktop.open.isEmpty, now.timeIntervalSince(idle) >= debounce else { continue }
            desktop.reported = false
            desktop.idleSince = nil
            desktops[key] = desktop.pending.isEmpty ? nil : desktop
            actions.append(.disconnected(key))
        }
        return actions.sorted { "\($0)" < "\($1)" }
    }

    /// The hypervisor says the desktop's display has no client now. Asked after a broker
    /// restart and after a host's connection came back, when disconnect events may have been
    /// missed: a session reported connected is disconnected at once (its disconnect timeout
    /// runs from now); a client that comes back later connects it again.
    public mutating func noClients(on key: Key) -> [Action] {
        guard var desktop = desktops[key], desktop.reported else { return [] }
        desktop.open = [:]
        desktop.reported = false
        desktop.idleSince = nil
        desktop.adopted = false
        desktops[key] = desktop.pending.isEmpty ? nil : desktop
        return [.disconnected(key)]
    }

    /// The desktop's domain stopped or started anew (a new qemu): its display and every
    /// channel of it are gone, and qemu sends no disconnect for channels of a process that
    /// ended. Forgotten, so that the next client of a domain of that name (a refreshed desktop
    /// keeps its name) connects its session; a session reported connected is disconnected.
    public mutating func domainRestarted(_ key: Key) -> [Action] {
        guard let desktop = desktops.removeValue(forKey: key) else { return [] }
        return desktop.reported ? [.disconnected(key)] : []
    }

    /// Desktops on `host` reported connected (their disconnects may have been missed while
    /// the host's connection was away).
    public func reported(onHost host: String?) -> [Key] {
        desktops.filter { $0.value.reported && (host == nil || $0.key.host == host) }.map(\.key).sorted { $0.domain < $1.domain }
    }

    /// Takes over a session that was connected before this tracker started (the store says
    /// so after a broker restart). Its channels are unknown: when one of them closes and no
    /// new one comes up within the debounce, the session is reported disconnected.
    public mutating func adopt(_ key: Key) {
        guard desktops[key] == nil else { return }
        desktops[key] = Desktop(reported: true, adopted: true)
    }
}
