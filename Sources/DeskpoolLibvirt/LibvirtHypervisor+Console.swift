public import DeskpoolCore
public import Foundation
import Libvirt
import Synchronization

extension LibvirtHypervisor {
    public func setConsolePassword(_ ticket: ConsoleTicket, validUntil: Date, disconnectClients: Bool,
                                   onDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        // In place, on one libvirt thread: under load the pool's threads are held by updates
        // waiting for their domain's job, and the lookup would queue behind them again.
        try await inPlace { () async throws(DeskpoolError) in
            try await setConsolePasswordInPlace(ticket, validUntil: validUntil, disconnectClients: disconnectClients, onDesktop: name)
        }
    }

    private func setConsolePasswordInPlace(_ ticket: ConsoleTicket, validUntil: Date, disconnectClients: Bool,
                                           onDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        let operation = "setting the console ticket of desktop \(name)"
        let (domain, displays) = try await liveGraphics(of: name, operation)
        let update = displays.spice.update(password: ticket.secret, validTo: validUntil, disconnect: disconnectClients)
        try await libvirt(operation) { () async throws(LibvirtError) in try await domain.updateDevice(xml: update, .live) }
        return displays.endpoint
    }

    public func setBrowserPassword(_ password: BrowserConsolePassword, validUntil: Date,
                                   onDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        try await inPlace { () async throws(DeskpoolError) in
            let operation = "setting the browser console password of desktop \(name)"
            let (domain, displays) = try await liveGraphics(of: name, operation)
            guard let vnc = displays.vnc, vnc.port != nil else {
                throw DeskpoolError(.conflict, "desktop \(name) has no browser display (it was defined before browser consoles); "
                                    + "log off to get a refreshed desktop, or use Connect", field: "desktop")
            }
            // VNC keeps connected clients on a password change (libvirt refuses connected='disconnect').
            let update = vnc.update(password: password.secret, validTo: validUntil, disconnect: nil)
            try await libvirt(operation) { () async throws(LibvirtError) in try await domain.updateDevice(xml: update, .live) }
            return displays.endpoint
        }
    }

    public func consoleEndpoint(ofDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        let (_, displays) = try await liveGraphics(of: name, "reading the console of desktop \(name)")
        return displays.endpoint
    }

    public func consoleClients(ofDesktop name: String) async throws(DeskpoolError) -> [String] {
        let operation = "listing the console clients of desktop \(name)"
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop")
        }
        guard try await libvirt(operation, { () async throws(LibvirtError) in try await domain.isActive() }) else { return [] }
        // libvirt has no API for a display's clients: qemu's SPICE server lists its channels.
        let answer = try await libvirt(operation) { () async throws(LibvirtError) in
            try await domain.qemuMonitorCommand(#"{"execute":"query-spice"}"#)
        }
        guard let clients = Self.spiceClients(fromQuerySpice: answer) else {
            throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): unexpected query-spice answer")
        }
        // And the browser display's (VNC) clients: a browser console is a session too.
        let vnc = try await libvirt(operation) { () async throws(LibvirtError) in
            try await domain.qemuMonitorCommand(#"{"execute":"query-vnc-servers"}"#)
        }
        guard let browsers = Self.vncClients(fromQueryVncServers: vnc) else {
            throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): unexpected query-vnc-servers answer")
        }
        return clients + browsers.filter { !clients.contains($0) }
    }

    /// `host:port`, an IPv6 host in brackets (as libvirt's graphics events give it).
    private static func address(host: String, port: String) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The distinct `host:port` of the clients of every VNC server in a QMP
    /// `query-vnc-servers` answer; nil when the answer is not one.
    public static func vncClients(fromQueryVncServers json: String) -> [String]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let servers = object["return"] as? [[String: Any]] else { return nil }
        var seen: [String] = []
        for server in servers {
            for client in server["clients"] as? [[String: Any]] ?? [] {
                guard let host = client["host"] as? String, let port = client["service"] as? String else { continue }
                let address = Self.address(host: host, port: port)
                if !seen.contains(address) { seen.append(address) }
            }
        }
        return seen
    }

    /// The distinct `host:port` of the channels in a QMP `query-spice` answer; nil when the
    /// answer is not one.
    public static func spiceClients(fromQuerySpice json: String) -> [String]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let info = object["return"] as? [String: Any] else { return nil }
        let channels = info["channels"] as? [[String: Any]] ?? []
        var seen: [String] = []
        for channel in channels {
            guard let host = channel["host"] as? String, let port = channel["port"] as? String else { continue }
            let client = Self.address(host: host, port: port)
            if !seen.contains(client) { seen.append(client) }
        }
        return seen
    }

    /// The running domain and its live SPICE display (ports are only known while it runs).
    ///
    /// The display is read from the live XML once per run of the domain (its ports do not
    /// change while it runs): reading the XML takes the domain's job lock in the qemu driver,
    /// so under concurrent requests it would queue behind every password update.
    private func liveGraphics(of name: String, _ operation: String) async throws(DeskpoolError) -> (Domain, LiveDisplays) {
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop")
        }
        let run = try await libvirt(operation) { () async throws(LibvirtError) in try await domain.runID() }
        if let run, let cached = displayCache.graphics(of: domain.uuid, run: run) { return (domain, cached) }
        let xml = try await libvirt(operation) { () async throws(LibvirtError) in try await domain.xml() }
        guard let spice = SpiceGraphics.read(fromDomainXML: xml), spice.port != nil || spice.tlsPort != nil else {
            throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): the domain has no running SPICE display")
        }
        let displays = LiveDisplays(spice: spice, vnc: SpiceGraphics.read(fromDomainXML: xml, type: "vnc"))
        if let run { displayCache.keep(displays, of: domain.uuid, run: run) }
        return (domain, displays)
    }
}

/// A running domain's SPICE display and its browser (VNC) display, if it has one.
struct LiveDisplays: Sendable, Hashable {
    var spice: SpiceGraphics
    var vnc: SpiceGraphics?

    var endpoint: ConsoleEndpoint { ConsoleEndpoint(port: spice.port, tlsPort: spice.tlsPort, browserPort: vnc?.port) }
}

/// Live SPICE displays by domain UUID, each valid for one run of its domain.
final class DisplayCache: Sendable {
    private let entries = Mutex<[String: (run: UInt32, graphics: LiveDisplays)]>([:])

    func graphics(of uuid: String, run: UInt32) -> LiveDisplays? {
        entries.withLock { $0[uuid].flatMap { $0.run == run ? $0.graphics : nil } }
    }

    func keep(_ graphics: LiveDisplays, of uuid: String, run: UInt32) {
        entries.withLock { entries in
            if entries.count >= 8192 { entries.removeAll() }  // bounded; entries come back on use
            entries[uuid] = (run, graphics)
        }
    }
}
