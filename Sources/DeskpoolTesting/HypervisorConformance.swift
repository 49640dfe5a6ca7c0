public import DeskpoolCore

/// An expectation of `HypervisorConformance` that an implementation did not meet.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public let check: String
    public let message: String
    public var description: String { "\(check): \(message)" }
}

/// What every `Hypervisor` must do, as checks that any test can run against any
/// implementation (swift-configuration's `ProviderCompatTest` does this for its providers).
/// Each check throws `ConformanceFailure` for an unmet expectation and passes on the
/// hypervisor's own errors. Checks leave the desktops they were given in place unless they
/// are about destroying them.
public enum HypervisorConformance {
    /// A desktop identity for a check, incarnation 1.
    public static func desktop(_ name: String, template: TemplateDefinition, pool: String = "conformance") -> DesktopIdentity {
        DesktopIdentity(id: "id-\(name)", name: name, pool: pool, template: template.name, version: 1, incarnation: 1, generation: 1)
    }

    /// Creates and starts `desktop`, waits until it probes `.ready` (at most `deadline`), and
    /// finds it running, with its identity, in `observe()`.
    public static func createStartReady(
        _ hypervisor: any Hypervisor, desktop: DesktopIdentity, base: String, template: TemplateDefinition, deadline: Duration
    ) async throws {
        try await hypervisor.createDesktop(desktop, base: base, template: template)
        try await hypervisor.startDesktop(named: desktop.name)
        try await hypervisor.startDesktop(named: desktop.name)  // already running: fine
        try await waitUntilReady(hypervisor, name: desktop.name, deadline: deadline)
        let observed = try await hypervisor.observe().first { $0.name == desktop.name }
        try expect("createStartReady", observed?.identity == desktop, "observe() shows \(String(describing: observed?.identity)), not \(desktop)")
        try expect("createStartReady", observed?.run == .running, "observe() shows \(String(describing: observed?.run)), not running")
    }

    /// Probes until `.ready`; fails on `.broken` or when `deadline` passes. Returns the time taken.
    @discardableResult
    public static func waitUntilReady(_ hypervisor: any Hypervisor, name: String, deadline: Duration) async throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        var last = GuestProbe.booting
        while clock.now - start < deadline {
            last = try await hypervisor.probe(named: name)
            switch last {
            case .ready: return clock.now - start
            case .broken(let reason): throw ConformanceFailure(check: "waitUntilReady", message: "\(name) is broken: \(reason)")
            case .booting: try await Task.sleep(for: .milliseconds(250))  // the guest boots; ask again
            }
        }
        throw ConformanceFailure(check: "waitUntilReady", message: "\(name) not ready within \(deadline) (last probe: \(last))")
    }

    /// Creating an existing desktop again with the same identity changes nothing; another
    /// desktop (or incarnation) with the same name is refused with `.alreadyExists`.
    public static func createIsIdempotent(
        _ hypervisor: any Hypervisor, desktop: DesktopIdentity, base: String, template: TemplateDefinition
    ) async throws {
        let before = try await hypervisor.observe().first { $0.name == desktop.name }
        try expect("createIsIdempotent", before?.identity == desktop, "the desktop must exist first")
        try await hypervisor.createDesktop(desktop, base: base, template: template)
        let after = try await hypervisor.observe().first { $0.name == desktop.name }
        try expect("createIsIdempotent", after == before, "a repeated create changed \(String(describing: before)) into \(String(describing: after))")
        var other = desktop
        other.id += "-other"
        try await expectError("createIsIdempotent", .alreadyExists, "a create of another desktop with the same name") {
            try await hypervisor.createDesktop(other, base: base, template: template)
        }
        var next = desktop
        next.incarnation += 1
        try await expectError("createIsIdempotent", .alreadyExists, "a create of the next incarnation over the old domain") {
            try await hypervisor.createDesktop(next, base: base, template: template)
        }
        try expect("createIsIdempotent", try await !hypervisor.volumeExists(named: next.volumeName), "the refused create left \(next.volumeName)")
    }

    /// `deskpoolVolumes()` lists the desktop's clone and the base.
    public static func listsClone(_ hypervisor: any Hypervisor, desktop: DesktopIdentity, base: String) async throws {
        let volumes = try await hypervisor.deskpoolVolumes()
        try expect("listsClone", volumes.contains(desktop.volumeName), "\(desktop.volumeName) not in \(volumes)")
        try expect("listsClone", try await hypervisor.volumeExists(named: desktop.volumeName), "volumeExists is false for the clone")
        if base.hasPrefix("dp-") && base.hasSuffix(".qcow2") {
            try expect("listsClone", volumes.contains(base), "base \(base) not in \(volumes)")
        }
        try expect("listsClone", volumes.allSatisfy { $0.hasPrefix("dp-") && $0.hasSuffix(".qcow2") }, "foreign names in \(volumes)")
    }

    /// A running desktop saved to disk stops (observed stopped, not broken); saving it again is
    /// fine; a start resumes it and it probes ready; a stop of a saved desktop forgets its
    /// memory; and a stopped desktop without saved memory cannot be saved (`.conflict`).
    public static func saveAndResume(_ hypervisor: any Hypervisor, desktop: DesktopIdentity, deadline: Duration) async throws {
        try await hypervisor.saveDesktop(named: desktop.name)
        let saved = try await hypervisor.observe().first { $0.name == desktop.name }
        try expect("saveAndResume", saved?.run == .stopped, "a saved desktop is observed \(saved.map { "\($0.run)" } ?? "missing")")
        try await hypervisor.saveDesktop(named: desktop.name)
        try await hypervisor.startDesktop(named: desktop.name)
        _ = try await waitUntilReady(hypervisor, name: desktop.name, deadline: deadline)
        try await hypervisor.saveDesktop(named: desktop.name)
        try await hypervisor.stopDesktop(named: desktop.name, timeout: .seconds(5))
        try await expectError("saveAndResume", .conflict, "a save of a stopped desktop without saved memory") {
            try await hypervisor.saveDesktop(named: desktop.name)
        }
        try await hypervisor.startDesktop(named: desktop.name)
        _ = try await waitUntilReady(hypervisor, name: desktop.name, deadline: deadline)
    }

    /// Destroying removes the domain and the volume; destroying again is fine, and the
    /// desktop then probes as broken (its domain is missing).
    public static func destroyRemovesEverything(_ hypervisor: any Hypervisor, desktop: DesktopIdentity) async throws {
        try await hypervisor.destroyDesktop(named: desktop.name, volume: desktop.volumeName)
        try expect("destroyRemovesEverything", try await !hypervisor.observe().contains { $0.name == desktop.name }, "the domain is still there")
        try expect("destroyRemovesEverything", try await !hypervisor.volumeExists(named: desktop.volumeName), "the volume is still there")
        try await hypervisor.destroyDesktop(named: desktop.name, volume: desktop.volumeName)
        let probe = try await hypervisor.probe(named: desktop.name)
        try expect("destroyRemovesEverything", probe == .broken("domain is missing"), "probe of a destroyed desktop is \(probe)")
        try await hypervisor.deleteVolume(named: desktop.volumeName)  // missing: fine
    }

    /// A desktop created with an identity seed has its seed volume (listed as Deskpool's);
    /// destroying the desktop removes both, so the seed (which may hold a join password)
    /// never outlives it.
    public static func seedGoesWithTheDesktop(_ hypervisor: any Hypervisor, desktop: DesktopIdentity, base: String,
                                              template: TemplateDefinition) async throws {
        let seed = try IdentitySeed.render(desktop: desktop, settings: IdentitySettings()) { (name: String) throws(DeskpoolError) -> String in
            throw DeskpoolError(.notFound, "no secret \(name)")
        }
        let seedVolume = DesktopIdentity.seedVolumeName(ofVolume: desktop.volumeName)
        try await hypervisor.createDesktop(desktop, base: base, template: template, hardware: DesktopHardware(template: template), seed: seed)
        try expect("seedGoesWithTheDesktop", try await hypervisor.volumeExists(named: seedVolume), "no seed volume \(seedVolume)")
        try expect("seedGoesWithTheDesktop", try await hypervisor.deskpoolVolumes().contains(seedVolume), "the seed volume is not listed as Deskpool's")
        try await hypervisor.destroyDesktop(named: desktop.name, volume: desktop.volumeName)
        try expect("seedGoesWithTheDesktop", try await !hypervisor.volumeExists(named: seedVolume), "the seed volume outlived its desktop")
        try expect("seedGoesWithTheDesktop", try await !hypervisor.volumeExists(named: desktop.volumeName), "the volume is still there")
    }

    /// A desktop on a missing base volume fails with `.notFound` and leaves nothing behind.
    public static func missingBaseFails(_ hypervisor: any Hypervisor, desktop: DesktopIdentity, template: TemplateDefinition) async throws {
        try await expectError("missingBaseFails", .notFound, "a create on a missing base") {
            try await hypervisor.createDesktop(desktop, base: "dp-base-missing-v1.qcow2", template: template)
        }
        try expect("missingBaseFails", try await !hypervisor.observe().contains { $0.name == desktop.name }, "a domain was left behind")
        try expect("missingBaseFails", try await !hypervisor.volumeExists(named: desktop.volumeName), "a volume was left behind")
    }

    /// A domain Deskpool did not create (`domainName`, made by the caller) shows in
    /// `observe()` with no identity.
    public static func foreignDomainHasNoIdentity(_ hypervisor: any Hypervisor, domainName: String) async throws {
        let observed = try await hypervisor.observe().first { $0.name == domainName }
        try expect("foreignDomainHasNoIdentity", observed != nil, "\(domainName) is not observed")
        try expect("foreignDomainHasNoIdentity", observed?.identity == nil, "\(domainName) has identity \(String(describing: observed?.identity))")
    }

    /// `facts` shows the desktop's identity and the hardware it was created with; after
    /// `reconfigure` the persistent definition carries exactly the new hardware and identity
    /// (every setting changed, then changed back, so devices are both added and removed),
    /// while a running desktop's live definition stays as it was. A reconfigure naming
    /// another desktop is `.conflict`. Returns the desktop's identity afterwards (its
    /// generation went up by two).
    @discardableResult
    public static func reconfigureShowsInFacts(
        _ hypervisor: any Hypervisor, desktop: DesktopIdentity, hardware: DesktopHardware
    ) async throws -> DesktopIdentity {
        let check = "reconfigureShowsInFacts"
        let before = try await hypervisor.facts(ofDesktop: desktop.name)
        try expect(check, before.identity == desktop, "facts show identity \(String(describing: before.identity)), not \(desktop)")
        try expectDefinition(check, before.persistent, hardware, "before reconfiguring")
        try expect(check, before.persistent.console?.passwordSet == true, "the definition has no console password: \(String(describing: before.persistent.console))")

        var identity = desktop
        for target in [changed(hardware), hardware] {
            identity.generation += 1
            let returned = try await hypervisor.reconfigure(desktop.name, hardware: target, identity: identity)
            let after = try await hypervisor.facts(ofDesktop: desktop.name)
            try expect(check, returned == after.live, "reconfigure returned the live definition \(String(describing: returned)), facts say \(String(describing: after.live))")
            try expect(check, after.identity == identity, "after reconfiguring, identity \(String(describing: after.identity)), not \(identity)")
            try expectDefinition(check, after.persistent, target, "after reconfiguring")
            try expect(check, after.persistent.console?.passwordSet == true, "the reconfigured definition lost its console password")
            try expect(check, after.live?.hardware == before.live?.hardware,
                       "the live hardware changed from \(String(describing: before.live?.hardware)) to \(String(describing: after.live?.hardware))")
            let observed = try await hypervisor.observe().first { $0.name == desktop.name }
            try expect(check, observed?.identity == identity, "observe() shows \(String(describing: observed?.identity)), not \(identity)")
        }
        var other = identity
        other.id += "-other"
        try await expectError(check, .conflict, "a reconfigure naming another desktop") {
            try await hypervisor.reconfigure(desktop.name, hardware: hardware, identity: other)
        }
        return identity
    }

    /// `facts` and `reconfigure` of a desktop without a domain are `.notFound`.
    public static func missingDesktopIsNotFound(_ hypervisor: any Hypervisor, template: TemplateDefinition) async throws {
        let missing = desktop("dp-conformance-missing", template: template)
        try await expectError("missingDesktopIsNotFound", .notFound, "facts of a missing desktop") {
            _ = try await hypervisor.facts(ofDesktop: missing.name)
        }
        try await expectError("missingDesktopIsNotFound", .notFound, "a reconfigure of a missing desktop") {
            try await hypervisor.reconfigure(missing.name, hardware: DesktopHardware(template: template), identity: missing)
        }
    }

    /// `hardware` with every setting changed.
    public static func changed(_ hardware: DesktopHardware) -> DesktopHardware {
        var other = hardware
        other.vcpus = hardware.vcpus == 1 ? 2 : 1
        other.memoryMiB = hardware.memoryMiB + 128
        other.monitors = hardware.monitors == 1 ? 2 : 1
        other.audio.toggle()
        other.clipboard.toggle()
        other.streaming = hardware.streaming == .all ? .off : .all
        other.compression = hardware.compression == .quic ? .lz : .quic
        other.usbRedirection.toggle()
        other.smartcard.toggle()
        return other
    }

    static func expectDefinition(_ check: String, _ facts: DefinitionFacts, _ hardware: DesktopHardware, _ when: String) throws {
        try expect(check, facts.hardware == hardware, "\(when): the definition shows \(facts.hardware), not \(hardware)")
        try expect(check, facts.memoryMiB == hardware.memoryMiB && facts.maxMemoryMiB == hardware.memoryMiB && facts.vcpus == hardware.vcpus,
                   "\(when): memory \(facts.memoryMiB)/\(facts.maxMemoryMiB) MiB and \(facts.vcpus) vCPUs, not \(hardware.memoryMiB) MiB and \(hardware.vcpus)")
    }

    // MARK: - Helpers

    static func expect(_ check: String, _ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure(check: check, message: message()) }
    }

    static func expectError(_ check: String, _ code: DeskpoolError.Code, _ what: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as DeskpoolError {
            try expect(check, error.code == code, "\(what) failed with \(error.code) (\(error)), not \(code)")
            return
        }
        throw ConformanceFailure(check: check, message: "\(what) succeeded; expected \(code)")
    }
}
