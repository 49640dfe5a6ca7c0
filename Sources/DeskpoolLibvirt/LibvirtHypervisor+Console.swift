public import DeskpoolCore
public import Foundation
import Libvirt
import Synchronization

extension LibvirtHypervisor {
    public func setConsolePassword(_ ticket: ConsoleTicket, validUntil: Date, disconnectClients: Bool,
                                   onDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        let operation = "setting the console ticket of desktop \(name)"
        let (domain, graphics) = try await liveGraphics(of: name, operation)
        let update = graphics.update(password: ticket.secret, validTo: validUntil, disconnect: disconnectClients)
        try await libvirt(operation) { () async throws(LibvirtError) in try await domain.updateDevice(xml: update, .live) }
        return ConsoleEndpoint(port: graphics.port, tlsPort: graphics.tlsPort)
    }

    public func consoleEndpoint(ofDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        let (_, graphics) = try await liveGraphics(of: name, "reading the console of desktop \(name)")
        return ConsoleEndpoint(port: graphics.port, tlsPort: graphics.tlsPort)
    }

    /// The running domain and its live SPICE display (ports are only known while it runs).
    ///
    /// The display is read from the live XML once per run of the domain (its ports do not
    /// change while it runs): reading the XML takes the domain's job lock in the qemu driver,
    /// so under concurrent requests it would queue behind every password update.
    private func liveGraphics(of name: String, _ operation: String) async throws(DeskpoolError) -> (Domain, SpiceGraphics) {
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop")
        }
        let run = try await libvirt(operation) { () async throws(LibvirtError) in try await domain.runID() }
        if let run, let cached = displayCache.graphics(of: domain.uuid, run: run) { return (domain, cached) }
        let xml = try await libvirt(operation) { () async throws(LibvirtError) in try await domain.xml() }
        guard let graphics = SpiceGraphics.read(fromDomainXML: xml), graphics.port != nil || graphics.tlsPort != nil else {
            throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): the domain has no running SPICE display")
        }
        if let run { displayCache.keep(graphics, of: domain.uuid, run: run) }
        return (domain, graphics)
    }
}

/// Live SPICE displays by domain UUID, each valid for one run of its domain.
final class DisplayCache: Sendable {
    private let entries = Mutex<[String: (run: UInt32, graphics: SpiceGraphics)]>([:])

    func graphics(of uuid: String, run: UInt32) -> SpiceGraphics? {
        entries.withLock { $0[uuid].flatMap { $0.run == run ? $0.graphics : nil } }
    }

    func keep(_ graphics: SpiceGraphics, of uuid: String, run: UInt32) {
        entries.withLock { entries in
            if entries.count >= 8192 { entries.removeAll() }  // bounded; entries come back on use
            entries[uuid] = (run, graphics)
        }
    }
}
