public import DeskpoolCore
public import Foundation
import Libvirt

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
    private func liveGraphics(of name: String, _ operation: String) async throws(DeskpoolError) -> (Domain, SpiceGraphics) {
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop")
        }
        let xml = try await libvirt(operation) { () async throws(LibvirtError) in try await domain.xml() }
        guard let graphics = SpiceGraphics.read(fromDomainXML: xml), graphics.port != nil || graphics.tlsPort != nil else {
            throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): the domain has no running SPICE display")
        }
        return (domain, graphics)
    }
}
