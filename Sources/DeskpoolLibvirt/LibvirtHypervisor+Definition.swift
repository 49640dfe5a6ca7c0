public import DeskpoolCore
import Foundation
import Libvirt

/// Reading and changing a desktop's definition for bulk policies: facts for checks, a new
/// hardware configuration, live memory.
extension LibvirtHypervisor {
    public func facts(ofDesktop name: String) async throws(DeskpoolError) -> DesktopFacts {
        // Read for every desktop a plan or check covers: the calls run in place.
        try await inPlace { () async throws(DeskpoolError) in try await factsInPlace(ofDesktop: name) }
    }

    /// One listing of the host's domains instead of a lookup per desktop, then each
    /// definition read, all at once.
    public func facts(ofDesktops names: [String]) async -> [String: DesktopFacts] {
        let wanted = Set(names)
        guard let domains = try? await connection.allDomains() else { return [:] }
        return await withTaskGroup(of: (String, DesktopFacts?).self) { group in
            for domain in domains where wanted.contains(domain.name) {
                group.addTask(executorPreference: LibvirtExecutor.shared) {
                    (domain.name, try? await self.facts(of: domain, "reading the definition of desktop \(domain.name)"))
                }
            }
            var facts: [String: DesktopFacts] = [:]
            for await (name, read) in group { if let read { facts[name] = read } }
            return facts
        }
    }

    private func factsInPlace(ofDesktop name: String) async throws(DeskpoolError) -> DesktopFacts {
        let operation = "reading the definition of desktop \(name)"
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop")
        }
        return try await facts(of: domain, operation)
    }

    private func facts(of domain: Domain, _ operation: String) async throws(DeskpoolError) -> DesktopFacts {
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

    @discardableResult
    public func reconfigure(_ name: String, hardware: DesktopHardware, identity: DesktopIdentity) async throws(DeskpoolError) -> DefinitionFacts? {
        // Three libvirt calls in a row (lookup, read, define; a fourth, the live XML, for a
        // running guest), made thousands of times by a bulk change.
        try await inPlace { () async throws(DeskpoolError) in try await reconfigureInPlace(name, hardware: hardware, identity: identity) }
    }

    private func reconfigureInPlace(_ name: String, hardware: DesktopHardware, identity: DesktopIdentity) async throws(DeskpoolError) -> DefinitionFacts? {
        let operation = "reconfiguring desktop \(name)"
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop")
        }
        // Without the secure flag: the console password never passes through here.
        let xml = try await libvirt(operation) { () async throws(LibvirtError) in try await domain.xml(.inactive) }
        // One strict parse for the owner; the edit then trusts the text is well-formed.
        let current = DomainFactsParser.parse(xml)
        guard let owner = current?.identity, owner.id == identity.id, owner.incarnation == identity.incarnation else {
            let found = current?.identity.map { "desktop \($0.id) incarnation \($0.incarnation)" } ?? "a domain Deskpool did not create"
            throw DeskpoolError(.conflict, "\(operation) on \(host): the domain is \(found), not desktop \(identity.id) incarnation \(identity.incarnation)")
        }
        let edited = try DesktopDomainXML.reconfigured(xml, hardware: hardware, identity: identity,
                                                       instance: current?.instance ?? instance, wellFormed: true)
        // One define replaces the whole persistent definition; a running domain keeps its
        // live one until the next start.
        _ = try await libvirt(operation) { () async throws(LibvirtError) in try await connection.defineDomain(xml: edited) }
        metadataCache.forget(uuid: domain.uuid)
        // The run id came with the lookup: no call to learn whether it runs.
        guard try await libvirt(operation, { () async throws(LibvirtError) in try await domain.runID() }) != nil else { return nil }
        let live = try await libvirt(operation) { () async throws(LibvirtError) in try await domain.xml(.secure) }
        return DomainFactsParser.parse(live)?.facts
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
