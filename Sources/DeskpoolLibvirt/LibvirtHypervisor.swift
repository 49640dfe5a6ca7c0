public import DeskpoolCore
import Foundation
public import Libvirt

/// `Hypervisor` over one libvirt connection: qemu:///system (or a remote URI) in production,
/// the test driver in tests. Desktops are linked-clone qcow2 volumes in one storage pool plus
/// persistent domains carrying Deskpool metadata (`DesktopDomainXML`).
///
/// libvirt errors become `DeskpoolError(.hypervisorFailed, "<operation> on <host>: <message>")`,
/// except where the protocol gives a case its own code (`.notFound`, `.alreadyExists`).
public final class LibvirtHypervisor: Hypervisor {
    public let host: String
    /// The supervised connection (`HostLink`): `deskpool serve` runs it as a service, so the
    /// broker connects again after libvirtd restarts.
    public let link: HostLink
    /// The storage pool holding base and desktop volumes.
    public let storagePool: String
    /// `kvm` or `qemu` (TCG); `test` on the test driver.
    public let domainType: String
    /// Where desktops' SPICE consoles listen.
    public let consoleListen: String

    /// The broker installation written into each new desktop's metadata.
    public let instance: String
    /// What templates' domain XML may hold on this host, checked again at each new desktop.
    public let templatePolicy: DomainXMLPolicy
    /// Deskpool metadata of the host's domains, read once per domain.
    let metadataCache = DomainMetadataCache()
    /// Each running domain's SPICE display, read once per run.
    let displayCache = DisplayCache()

    public init(host: String, link: HostLink, storagePool: String, domainType: String, consoleListen: String = "127.0.0.1",
                instance: String = BrokerConfiguration.defaultInstance, templatePolicy: DomainXMLPolicy = DomainXMLPolicy()) {
        self.instance = instance
        self.templatePolicy = templatePolicy
        self.host = host
        self.link = link
        self.storagePool = storagePool
        self.domainType = domainType
        self.consoleListen = consoleListen
    }

    /// A hypervisor over a connection already open (tests): its link reconnects to the same
    /// URI if it drops, once the link runs.
    public convenience init(host: String, connection: Connection, storagePool: String, domainType: String, consoleListen: String = "127.0.0.1",
                            instance: String = BrokerConfiguration.defaultInstance, templatePolicy: DomainXMLPolicy = DomainXMLPolicy()) {
        self.init(host: host, link: HostLink(host: host, connection: connection), storagePool: storagePool, domainType: domainType,
                  consoleListen: consoleListen, instance: instance, templatePolicy: templatePolicy)
    }

    /// Opens `uri` now and returns a hypervisor over it; an unreachable host is an error.
    public static func connect(
        host: String, uri: String, storagePool: String, domainType: String, consoleListen: String = "127.0.0.1",
        instance: String = BrokerConfiguration.defaultInstance, templatePolicy: DomainXMLPolicy = DomainXMLPolicy()
    ) async throws(DeskpoolError) -> LibvirtHypervisor {
        LibvirtHypervisor(host: host, link: try await HostLink.connect(host: host, uri: uri), storagePool: storagePool,
                          domainType: domainType, consoleListen: consoleListen, instance: instance, templatePolicy: templatePolicy)
    }

    /// The host's connection while it is connected; a `noConnect` error at once otherwise.
    public var connection: Connection {
        get throws(LibvirtError) { try link.connection() }
    }

    public var status: HostStatus { link.status }

    public func recovered(generation: Int) { link.recovered(generation: generation) }

    // MARK: - Desktops

    public func createDesktop(_ desktop: DesktopIdentity, base: String, template: TemplateDefinition,
                              hardware: DesktopHardware, seed: IdentitySeed?) async throws(DeskpoolError) {
        let operation = "creating desktop \(desktop.name)"
        if let existing = try await domain(named: desktop.name, operation) {
            // A repeat after a crash finds its own domain: done. Anything else is a clash.
            let identity = try await identity(of: existing, operation)
            if let identity, identity.id == desktop.id, identity.incarnation == desktop.incarnation { return }
            let owner = identity.map { "desktop \($0.id) incarnation \($0.incarnation)" } ?? "a domain Deskpool did not create"
            throw DeskpoolError(.alreadyExists, "a domain named \(desktop.name) already exists on \(host) (\(owner))")
        }
        let pool = try await pool(operation)
        guard let baseVolume = try await volume(named: base, in: pool, operation) else {
            throw DeskpoolError(.notFound, "base volume \(base) is missing on \(host)")
        }
        if let leftover = try await volume(named: desktop.volumeName, in: pool, operation) {
            try await libvirt(operation) { () async throws(LibvirtError) in try await leftover.delete() }
        }
        let clone = try await createClone(named: desktop.volumeName, of: baseVolume, in: pool, operation)
        var seedVolume: StorageVolume?
        do throws(DeskpoolError) {
            if let seed { seedVolume = try await createSeedVolume(seed, for: desktop, in: pool, operation) }
            var xml = DesktopDomainXML(identity: desktop, template: template, domainType: domainType,
                                       volumePath: clone.path, consoleListen: consoleListen, instance: instance,
                                       hardware: hardware, templatePolicy: templatePolicy)
            xml.seedPath = seedVolume?.path
            let rendered = try xml.render()
            _ = try await libvirt(operation) { () async throws(LibvirtError) in try await connection.defineDomain(xml: rendered) }
        } catch {
            // Leave nothing behind: a volume without its domain would only be found as an orphan.
            try? await clone.delete()
            try? await seedVolume?.delete()
            throw error
        }
    }

    /// The desktop's `cidata` volume (raw, read-only to the guest), with the seed written in.
    private func createSeedVolume(_ seed: IdentitySeed, for desktop: DesktopIdentity, in pool: StoragePool,
                                  _ operation: String) async throws(DeskpoolError) -> StorageVolume {
        let name = DesktopIdentity.seedVolumeName(ofVolume: desktop.volumeName)
        if let leftover = try await volume(named: name, in: pool, operation) {
            try await libvirt(operation) { () async throws(LibvirtError) in try await leftover.delete() }
        }
        let image = try SeedImage.make(files: seed.files)
        let volume = try await libvirt(operation) { () async throws(LibvirtError) in
            try await pool.createVolume(xml: VolumeXML.volume(name: name, capacityBytes: UInt64(image.count), format: "raw",
                                                              permissions: Self.seedVolumePermissions))
        }
        do throws(LibvirtError) {
            try await volume.upload(bytes: image)
        } catch where error.code == .noSupport && (link.uri.hasPrefix("test:") || link.uri.hasPrefix("test+")) {
            // The test driver keeps no bytes: the volume is what its XML says.
        } catch {
            try? await volume.delete()
            throw failure(operation, error)
        }
        return volume
    }

    public func startDesktop(named name: String) async throws(DeskpoolError) {
        let operation = "starting desktop \(name)"
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)")
        }
        try await libvirt(operation) { () async throws(LibvirtError) in
            guard try await !domain.isActive() else { return }
            do throws(LibvirtError) {
                try await domain.start()
            } catch {
                // Started by someone else between the check and the call: fine.
                if error.code == .operationInvalid, (try? await domain.isActive()) == true { return }
                throw error
            }
        }
    }

    public func stopDesktop(named name: String, timeout: Duration) async throws(DeskpoolError) {
        let operation = "stopping desktop \(name)"
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)")
        }
        let active = try await libvirt(operation) { () async throws(LibvirtError) -> Bool in
            if try await domain.isActive() { return true }
            // A saved guest's memory image would bring it back as it was: a stop forgets it.
            if try await domain.hasManagedSave() { try await domain.removeManagedSave() }
            return false
        }
        guard active else { return }
        // The agent's guest-shutdown never answers (the guest goes down at once): no error is
        // an answer here. Without an agent, ACPI.
        do throws(LibvirtError) {
            _ = try await domain.agentCommand(#"{"execute":"guest-shutdown"}"#, timeout: .seconds(5))
        } catch {
            try? await domain.shutdown()
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard (try? await domain.isActive()) ?? false else { return }
            // Shutting down: stop waiting (the state on record resumes the stop at the next start).
            guard !Task.isCancelled else { throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): cancelled while the guest shuts down") }
            try? await Task.sleep(for: .milliseconds(250))
        }
        do throws(LibvirtError) {
            try await domain.destroy()
        } catch where error.code == .operationInvalid {
            return  // it stopped meanwhile
        } catch {
            throw failure(operation, error)
        }
    }

    public func saveDesktop(named name: String) async throws(DeskpoolError) {
        let operation = "saving desktop \(name)"
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)")
        }
        let saved = try await libvirt(operation) { () async throws(LibvirtError) -> Bool in
            if try await domain.isActive() {
                do throws(LibvirtError) {
                    try await domain.managedSave()
                } catch where error.code == .operationInvalid {
                    // Saved (or stopped) by someone else meanwhile: what counts is the image.
                    return try await domain.hasManagedSave()
                }
                return true
            }
            return try await domain.hasManagedSave()  // saved before (a crash after the save)
        }
        guard saved else { throw DeskpoolError(.conflict, "desktop \(name) on \(host) is stopped and has no saved memory to keep") }
    }

    public func destroyDesktop(named name: String, volume: String) async throws(DeskpoolError) {
        let operation = "destroying desktop \(name)"
        if let domain = try await domain(named: name, operation) {
            try await libvirt(operation) { () async throws(LibvirtError) in
                do throws(LibvirtError) {
                    if try await domain.isActive() {
                        do throws(LibvirtError) { try await domain.destroy() } catch where error.code == .operationInvalid {}  // stopped meanwhile
                    }
                    do throws(LibvirtError) {
                        try await domain.undefine([.managedSave, .snapshotsMetadata, .nvram])
                    } catch where [.invalidArgument, .noSupport, .operationUnsupported].contains(error.code) {
                        // The test driver refuses the nvram flag; without flags it undefines.
                        try await domain.undefine()
                    }
                } catch where error.code == .noDomain {}  // gone meanwhile
            }
        }
        try await deleteVolume(named: volume)
        // The identity seed (it may hold a join password) goes with the desktop.
        try await deleteVolume(named: DesktopIdentity.seedVolumeName(ofVolume: volume))
    }

    // MARK: - Helpers

    /// Runs libvirt calls, turning their error into a `DeskpoolError` that names the operation
    /// and the host.
    func libvirt<T: Sendable>(_ operation: String, _ body: () async throws(LibvirtError) -> T) async throws(DeskpoolError) -> T {
        do throws(LibvirtError) {
            return try await body()
        } catch {
            throw failure(operation, error)
        }
    }

    /// Runs `body` on libvirt's threads (`LibvirtExecutor`): its libvirt calls then run in
    /// place instead of handing over to a libvirt thread and back for each call. For a few
    /// calls in a row, made often; keep heavy Swift work out of it.
    func inPlace<T: Sendable>(_ body: () async throws(DeskpoolError) -> T) async throws(DeskpoolError) -> T {
        try await withTaskExecutorPreference(LibvirtExecutor.shared, operation: body)
    }

    /// A libvirt failure as the broker's error: `hypervisorUnavailable` when the host's
    /// connection is gone (the request may be tried again once it is back), else
    /// `hypervisorFailed` with libvirt's message.
    func failure(_ operation: String, _ error: LibvirtError) -> DeskpoolError {
        if link.lostConnection(error) { return link.status.unavailable(host: host, operation: operation) }
        return DeskpoolError(.hypervisorFailed, "\(operation) on \(host): \(error.message)")
    }

    /// The domain with this name, or nil when there is none.
    func domain(named name: String, _ operation: String) async throws(DeskpoolError) -> Domain? {
        do throws(LibvirtError) {
            return try await connection.domain(named: name)
        } catch where error.code == .noDomain {
            return nil
        } catch {
            throw failure(operation, error)
        }
    }

    /// The Deskpool identity in a domain's metadata; nil when it has none.
    func identity(of domain: Domain, _ operation: String) async throws(DeskpoolError) -> DesktopIdentity? {
        try await metadata(of: domain, operation)?.identity
    }

    /// The Deskpool identity and broker instance in a domain's metadata; nil when it has none.
    /// Asks libvirt only for a domain not seen before (`DomainMetadataCache`).
    ///
    /// The persistent definition's metadata: a running desktop that was reconfigured shows
    /// its new generation at once (its live definition keeps the old one until it restarts).
    /// A transient domain (never Deskpool's) has only the live one.
    func metadata(of domain: Domain, _ operation: String) async throws(DeskpoolError) -> DomainMetadata? {
        if let known = metadataCache[domain.uuid] { return known }
        let xml = try await libvirt(operation) { () async throws(LibvirtError) -> String? in
            do throws(LibvirtError) {
                return try await domain.metadata(namespaceURI: DesktopDomainXML.namespace, impact: .config)
            } catch where error.code == .operationInvalid {
                return try await domain.metadata(namespaceURI: DesktopDomainXML.namespace)
            }
        }
        let metadata = xml.flatMap(DomainMetadata.read)
        metadataCache.store(metadata, uuid: domain.uuid)
        return metadata
    }
}
