public import DeskpoolCore
import Foundation
import Libvirt

/// Reading and changing a desktop's definition for bulk policies: facts for checks, a new
/// hardware configuration, live memory.
extension LibvirtHypervisor {
    public func facts(ofDesktop name: String) async throws(DeskpoolError) -> DesktopFacts {
        let operation = "reading the definition of desktop \(name)"
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop")
        }
        // The secure flag only to learn whether a console password is set: the parser keeps
        // no more than that, and the XML text is dropped here.
        let (persistentXML, liveXML) = try await libvirt(operation) { () async throws(LibvirtError) -> (String, String?) in
            let persistent = try await domain.xml([.inactive, .secure])
            // The run id came with the lookup: no extra call to learn whether it runs.
            guard try await domain.runID() != nil else { return (persistent, nil) }
            return (persistent, try await domain.xml(.secure))
        }
        guard let persistent = DomainFactsParser.parse(persistentXML) else {
            throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): libvirt returned XML that is not a domain")
        }
        let live = liveXML.flatMap(DomainFactsParser.parse)
        return DesktopFacts(identity: persistent.identity, persistent: persistent.facts, live: live?.facts)
    }

    public func reconfigure(_ name: String, hardware: DesktopHardware, identity: DesktopIdentity) async throws(DeskpoolError) {
        let operation = "reconfiguring desktop \(name)"
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop")
        }
        // Without the secure flag: the console password never passes through here.
        let xml = try await libvirt(operation) { () async throws(LibvirtError) in try await domain.xml(.inactive) }
        let current = DomainFactsParser.parse(xml)
        guard let owner = current?.identity, owner.id == identity.id, owner.incarnation == identity.incarnation else {
            let found = current?.identity.map { "desktop \($0.id) incarnation \($0.incarnation)" } ?? "a domain Deskpool did not create"
            throw DeskpoolError(.conflict, "\(operation) on \(host): the domain is \(found), not desktop \(identity.id) incarnation \(identity.incarnation)")
        }
        let edited = try DesktopDomainXML.reconfigured(xml, hardware: hardware, identity: identity,
                                                       instance: current?.instance ?? instance)
        // One define replaces the whole persistent definition; a running domain keeps its
        // live one until the next start.
        _ = try await libvirt(operation) { () async throws(LibvirtError) in try await connection.defineDomain(xml: edited) }
        metadataCache.forget(uuid: domain.uuid)
    }

    public func setLiveMemory(_ mib: Int, onDesktop name: String) async throws(DeskpoolError) {
        let operation = "setting the live memory of desktop \(name)"
        guard mib > 0 else { throw DeskpoolError(.invalidInput, "\(operation): \(mib) MiB is not a memory size", field: "memoryMiB") }
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop")
        }
        let info = try await libvirt(operation) { () async throws(LibvirtError) in try await domain.info() }
        guard info.state == .running || info.state == .blocked || info.state == .paused else {
            throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): the desktop is not running")
        }
        let maximum = Int(info.maxMemoryKiB / 1024)
        guard mib <= maximum else {
            throw DeskpoolError(.invalidInput, "\(operation): \(mib) MiB is above the live maximum of \(maximum) MiB", field: "memoryMiB")
        }
        try await libvirt(operation) { () async throws(LibvirtError) in try await domain.setMemory(kib: UInt64(mib) * 1024, .live) }
    }
}
