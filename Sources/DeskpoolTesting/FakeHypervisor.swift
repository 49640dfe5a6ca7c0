public import DeskpoolCore
public import Foundation
import Synchronization

/// An in-memory `Hypervisor` for fast tests of broker logic. It passes the same
/// `HypervisorConformance` checks as the libvirt one, and can be told to fail.
public final class FakeHypervisor: Hypervisor {
    public let host: String

    struct Domain {
        var identity: DesktopIdentity?
        var run: ObservedDomain.RunState
        var volume: String?
        var base: String?
        var probes = 0
        /// The console password, its expiry, and the port the display got at start.
        var console: (ticket: ConsoleTicket, validUntil: Date)?
        var browserConsole: (password: BrowserConsolePassword, validUntil: Date)?
        var port: Int?
        /// The persistent definition's hardware; the live one while running, with the
        /// balloon's memory.
        var hardware: DesktopHardware?
        var live: (hardware: DesktopHardware, memoryMiB: Int)?
        /// Stopped by a save: the next start resumes (no boot probes).
        var saved = false
    }

    struct State {
        var domains: [String: Domain] = [:]
        var volumes: [String: String?] = [:]  // name -> backing volume
        var imported: [String: ImageInspector.Facts] = [:]
        var brokenBases: [String: String] = [:]
        var failingBases: [String: String] = [:]
        var silentBases: Set<String> = []
        var capacity = HostCapacity(freeMemoryMiB: 64 * 1024, freeDiskMiB: 1 << 20)
        /// The connection's state: `setUnreachable` drops and makes it; while it is away,
        /// every operation fails at once with `hypervisorUnavailable`, like `LibvirtHypervisor`.
        var link = HostLinkMachine(now: Date())
        var continuations: [Int: AsyncStream<HypervisorEvent>.Continuation] = [:]
        var nextContinuation = 0
        var operations: [String] = []
        var messages: [String: [String]] = [:]
        var nextPort = 5900
        var seeds: [String: IdentitySeed] = [:]
        var ignoringIdentity: Set<String> = []
        /// Clients dropped by a password change with `disconnectClients`.
        var kicks: [String: Int] = [:]
        /// Guest commands by desktop: scripted answers, silent agents, and what ran.
        var guestAnswers: [String: @Sendable (GuestCommand) -> GuestCommandResult?] = [:]
        var silentAgents: Set<String> = []
        var guestCommands: [String: [GuestCommand]] = [:]
        /// Console clients per domain, kept from the console events `emit` sends.
        var consoleClients: [String: [String]] = [:]
    }

    let state = Mutex(State())
    /// Probes a started guest answers `.booting` before it is `.ready`.
    public let bootProbes: Int

    public init(host: String = "fake", bootProbes: Int = 0) {
        self.host = host
        self.bootProbes = bootProbes
        state.withLock { _ = $0.link.connected(at: Date()) }
    }

    public var status: HostStatus { state.withLock { $0.link.status } }

    public func recovered(generation: Int) {
        state.withLock {
            $0.link.recovered(generation: generation, at: Date())
            $0.operations.append("recovered \(generation)")
        }
    }

    /// Fails at once while the host is away, as a supervised libvirt connection does.
    private func reachable(_ operation: String) throws(DeskpoolError) {
        let status = self.status
        guard status.isConnected else { throw status.unavailable(host: host, operation: operation) }
    }

    // MARK: - Test controls

    /// Desktops cloned from `base` start but their guest fails with `reason`.
    public func breakGuests(onBase base: String, reason: String) { state.withLock { $0.brokenBases[base] = reason } }
    /// Desktops cloned from `base` start but their guest never answers.
    public func silenceGuests(onBase base: String) { state.withLock { _ = $0.silentBases.insert(base) } }
    /// Creating desktops on `base` fails with `reason`.
    public func failCreates(onBase base: String, reason: String) { state.withLock { $0.failingBases[base] = reason } }
    public func setCapacity(_ capacity: HostCapacity) { state.withLock { $0.capacity = capacity } }
    /// Drops the host's connection (a reason: every operation fails at once with
    /// `hypervisorUnavailable`) or makes it again (nil: the host is `recovering` until the
    /// broker's recovery pass calls `recovered(generation:)`, and `.hostConnected` is sent).
    public func setUnreachable(_ reason: String?) {
        let generation = state.withLock { s -> Int? in
            if let reason {
                _ = s.link.dropped(reason, at: Date())
                return nil
            }
            guard !s.link.status.isConnected else { return nil }
            _ = s.link.connected(at: Date())
            return s.link.status.generation
        }
        if let generation { emit("", .hostConnected(generation: generation)) }
    }
    /// A domain Deskpool did not create.
    public func addForeignDomain(_ name: String) { state.withLock { $0.domains[name] = Domain(identity: nil, run: .running) } }
    /// Removes a domain behind the broker's back.
    public func vanish(_ name: String) { state.withLock { _ = $0.domains.removeValue(forKey: name) } }
    public func addVolume(_ name: String, backing: String? = nil) { state.withLock { $0.volumes[name] = .some(backing) } }
    /// Operations done so far, e.g. `create eng-001`, `start eng-001`, `destroy eng-001`.
    public var operations: [String] { state.withLock { $0.operations } }
    public func messages(on name: String) -> [String] { state.withLock { $0.messages[name] ?? [] } }
    public func domainNames() -> Set<String> { state.withLock { Set($0.domains.keys) } }
    public func volumeNames() -> Set<String> { state.withLock { Set($0.volumes.keys) } }
    /// The volume a clone is backed by.
    public func backing(of volume: String) -> String? { state.withLock { $0.volumes[volume] ?? nil } }

    /// Sends an event as libvirt would.
    public func emit(_ domain: String, _ kind: HypervisorEvent.Kind) {
        let continuations = state.withLock { s in
            if case .console(let phase, let client) = kind {
                switch phase {
                case .connect: if !(s.consoleClients[domain] ?? []).contains(client) { s.consoleClients[domain, default: []].append(client) }
                case .disconnect: s.consoleClients[domain]?.removeAll { $0 == client }
                case .initialize: break
                }
            }
            return Array(s.continuations.values)
        }
        for continuation in continuations { continuation.yield(HypervisorEvent(host: host, domain: domain, kind: kind)) }
    }

    /// Guest commands on desktop `name` answer with `answer` (by default every command
    /// exits 0 without output); nil: the command is still running at its timeout.
    public func scriptGuestCommands(on name: String, _ answer: @escaping @Sendable (GuestCommand) -> GuestCommandResult?) {
        state.withLock { $0.guestAnswers[name] = answer }
    }
    /// The guest agent of desktop `name` stops answering (or answers again).
    public func silenceAgent(of name: String, _ silent: Bool = true) {
        state.withLock { s in if silent { s.silentAgents.insert(name) } else { s.silentAgents.remove(name) } }
    }
    /// Guest commands run on desktop `name` so far.
    public func guestCommands(on name: String) -> [GuestCommand] { state.withLock { $0.guestCommands[name] ?? [] } }
    /// Changes a desktop's persistent definition behind Deskpool's back (an admin with
    /// virsh), so that checks can find the drift.
    public func alterDefinition(_ name: String, _ change: (inout DesktopHardware) -> Void) {
        state.withLock { s in
            guard var hardware = s.domains[name]?.hardware else { return }
            change(&hardware)
            s.domains[name]?.hardware = hardware
        }
    }

    // MARK: - Hypervisor

    public func importBaseVolume(named volume: String, from source: ImageSource, limits: ImageImportConfiguration) async throws(DeskpoolError) {
        try state.withLock { (s: inout State) throws(DeskpoolError) in
            guard s.volumes[volume] == nil else { throw DeskpoolError(.alreadyExists, "volume \(volume) already exists on \(host)") }
            if case .volume(let from) = source {
                guard let backing = s.volumes[from] else { throw DeskpoolError(.notFound, "source volume \(from) does not exist on \(host)") }
                // The same rule as libvirt's: a volume with a backing file is no image.
                try ImageInspector.checkVolume(format: "qcow2", hasBackingStore: backing != nil, name: from)
            }
            s.volumes[volume] = .some(nil)
            if case .opened(let image) = source { s.imported[volume] = image.facts }
        }
    }

    /// What an opened image imported as `volume` was inspected to be (nil: another source).
    public func importedImage(_ volume: String) -> ImageInspector.Facts? { state.withLock { $0.imported[volume] } }

    public func volumeExists(named volume: String) async throws(DeskpoolError) -> Bool {
        state.withLock { $0.volumes[volume] != nil }
    }

    public func deleteVolume(named volume: String) async throws(DeskpoolError) {
        state.withLock { _ = $0.volumes.removeValue(forKey: volume) }
    }

    public func deskpoolVolumes() async throws(DeskpoolError) -> [String] {
        try reachable("listing volumes")
        return state.withLock { $0.volumes.keys.filter { $0.hasPrefix("dp-") && ($0.hasSuffix(".qcow2") || $0.hasSuffix(".seed.img")) }.sorted() }
    }

    public func createDesktop(_ desktop: DesktopIdentity, base: String, template: TemplateDefinition,
                              hardware: DesktopHardware, seed: IdentitySeed?) async throws(DeskpoolError) {
        try reachable("creating desktop \(desktop.name)")
        try state.withLock { (s: inout State) throws(DeskpoolError) in
            s.operations.append("create \(desktop.name)")
            if let existing = s.domains[desktop.name] {
                guard existing.identity?.id == desktop.id, existing.identity?.incarnation == desktop.incarnation else {
                    throw DeskpoolError(.alreadyExists, "a domain named \(desktop.name) already exists on \(host)")
                }
                return
            }
            if let reason = s.failingBases[base] { throw DeskpoolError(.hypervisorFailed, reason) }
            guard s.volumes[base] != nil else { throw DeskpoolError(.notFound, "base volume \(base) is missing on \(host)") }
            s.volumes[desktop.volumeName] = .some(base)
            if let seed {
                s.volumes[DesktopIdentity.seedVolumeName(ofVolume: desktop.volumeName)] = .some(nil)
                s.seeds[desktop.name] = seed
            }
            s.domains[desktop.name] = Domain(identity: desktop, run: .stopped, volume: desktop.volumeName, base: base, hardware: hardware)
        }
    }

    public func startDesktop(named name: String) async throws(DeskpoolError) {
        try reachable("starting desktop \(name)")
        let started = try state.withLock { (s: inout State) throws(DeskpoolError) -> Bool in
            s.operations.append("start \(name)")
            guard var domain = s.domains[name] else { throw DeskpoolError(.notFound, "no domain \(name) on \(host)") }
            guard domain.run != .running else { return false }
            domain.run = .running
            if let base = domain.base, let reason = s.brokenBases[base] { domain.run = .broken(reason) }
            // A saved guest resumes where it was: it answers at once.
            domain.probes = domain.saved ? bootProbes : 0
            domain.saved = false
            domain.port = s.nextPort
            s.nextPort += 1
            domain.live = domain.hardware.map { ($0, $0.memoryMiB) }
            s.domains[name] = domain
            return true
        }
        if started { emit(name, .started) }
    }

    public func probe(named name: String) async throws(DeskpoolError) -> GuestProbe {
        try reachable("probing desktop \(name)")
        return state.withLock { (s: inout State) -> GuestProbe in
            guard var domain = s.domains[name] else { return .broken("domain is missing") }
            switch domain.run {
            case .broken(let reason): return .broken(reason)
            case .stopped: return .broken("stopped")
            case .running:
                if let base = domain.base, s.silentBases.contains(base) { return .booting }
                domain.probes += 1
                s.domains[name] = domain
                return domain.probes > bootProbes ? .ready : .booting
            }
        }
    }

    public func stopDesktop(named name: String, timeout: Duration) async throws(DeskpoolError) {
        try reachable("stopping desktop \(name)")
        let stopped = try state.withLock { (s: inout State) throws(DeskpoolError) -> Bool in
            s.operations.append("stop \(name)")
            guard var domain = s.domains[name] else { throw DeskpoolError(.notFound, "no domain \(name) on \(host)") }
            domain.saved = false
            guard domain.run != .stopped else {
                s.domains[name] = domain
                return false
            }
            domain.run = .stopped
            domain.port = nil
            domain.live = nil
            s.domains[name] = domain
            return true
        }
        if stopped { emit(name, .stopped("shutdown")) }
    }

    public func saveDesktop(named name: String) async throws(DeskpoolError) {
        try reachable("saving desktop \(name)")
        let saved = try state.withLock { (s: inout State) throws(DeskpoolError) -> Bool in
            s.operations.append("save \(name)")
            guard var domain = s.domains[name] else { throw DeskpoolError(.notFound, "no domain \(name) on \(host)") }
            if domain.run == .stopped, domain.saved { return false }
            guard domain.run == .running else {
                throw DeskpoolError(.conflict, "desktop \(name) on \(host) is stopped and has no saved memory to keep")
            }
            domain.run = .stopped
            domain.saved = true
            domain.port = nil
            domain.live = nil
            s.domains[name] = domain
            return true
        }
        if saved { emit(name, .stopped("saved")) }
    }

    /// Whether the desktop's domain is stopped with its memory saved.
    public func isSaved(_ name: String) -> Bool { state.withLock { $0.domains[name]?.saved == true } }

    /// Whether the desktop's domain runs.
    public func isRunning(_ name: String) -> Bool { state.withLock { $0.domains[name]?.run == .running } }

    public func destroyDesktop(named name: String, volume: String) async throws(DeskpoolError) {
        try reachable("destroying desktop \(name)")
        let wasRunning = state.withLock { s in
            s.operations.append("destroy \(name)")
            let domain = s.domains.removeValue(forKey: name)
            s.volumes.removeValue(forKey: volume)
            s.volumes.removeValue(forKey: DesktopIdentity.seedVolumeName(ofVolume: volume))
            s.seeds.removeValue(forKey: name)
            // Its qemu is gone, and its display's clients with it (no disconnect events).
            s.consoleClients.removeValue(forKey: name)
            return domain?.run == .running
        }
        // libvirt reports a running domain destroyed as stopped.
        if wasRunning { emit(name, .stopped("destroyed")) }
    }

    /// The seed's host name once the guest runs, unless `ignoreIdentity` said the image does
    /// not apply it (then `localhost`, as an image without cloud-init would say).
    public func guestHostName(ofDesktop name: String) async throws(DeskpoolError) -> String? {
        try reachable("reading the host name of \(name)")
        return state.withLock { s in
            guard s.domains[name]?.run == .running else { return nil }
            return s.ignoringIdentity.contains(name) ? "localhost" : (s.seeds[name]?.hostname ?? "localhost")
        }
    }

    /// The identity seed the desktop was created with.
    public func seed(of name: String) -> IdentitySeed? { state.withLock { $0.seeds[name] } }
    /// Makes the guest ignore its seed (an image without cloud-init).
    public func ignoreIdentity(of name: String) { state.withLock { _ = $0.ignoringIdentity.insert(name) } }

    public func rebootDesktop(named name: String) async throws(DeskpoolError) {
        try state.withLock { (s: inout State) throws(DeskpoolError) in
            guard s.domains[name]?.run == .running else { throw DeskpoolError(.hypervisorFailed, "\(name) is not running") }
            s.operations.append("reboot \(name)")
        }
    }

    public func showMessage(_ text: String, onDesktop name: String) async throws(DeskpoolError) {
        try state.withLock { (s: inout State) throws(DeskpoolError) in
            guard s.domains[name]?.run == .running else { throw DeskpoolError(.hypervisorFailed, "\(name) is not running") }
            guard !s.silentAgents.contains(name) else { throw DeskpoolError(.hypervisorFailed, "\(name): the guest agent does not answer") }
            s.messages[name, default: []].append(text)
        }
    }

    public func setConsolePassword(_ ticket: ConsoleTicket, validUntil: Date, disconnectClients: Bool,
                                   onDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        try reachable("opening the console of \(name)")
        return try state.withLock { (s: inout State) throws(DeskpoolError) -> ConsoleEndpoint in
            s.operations.append("console \(name)")
            guard var domain = s.domains[name], domain.run == .running, let port = domain.port else {
                throw DeskpoolError(.hypervisorFailed, "\(name) has no running SPICE display on \(host)")
            }
            domain.console = (ticket, validUntil)
            s.domains[name] = domain
            if disconnectClients { s.kicks[name, default: 0] += 1 }
            return ConsoleEndpoint(port: port, tlsPort: nil, browserPort: Self.browserPort(of: port))
        }
    }

    /// The fake's browser display listens 1000 ports above its SPICE display.
    public static func browserPort(of spicePort: Int) -> Int { spicePort + 1000 }

    public func setBrowserPassword(_ password: BrowserConsolePassword, validUntil: Date,
                                   onDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        try reachable("opening the browser console of \(name)")
        return try state.withLock { (s: inout State) throws(DeskpoolError) -> ConsoleEndpoint in
            s.operations.append("browser console \(name)")
            guard var domain = s.domains[name], domain.run == .running, let port = domain.port else {
                throw DeskpoolError(.hypervisorFailed, "\(name) has no running display on \(host)")
            }
            domain.browserConsole = (password, validUntil)
            s.domains[name] = domain
            return ConsoleEndpoint(port: port, tlsPort: nil, browserPort: Self.browserPort(of: port))
        }
    }

    public func browserPassword(of name: String) -> (password: BrowserConsolePassword, validUntil: Date)? {
        state.withLock { $0.domains[name]?.browserConsole }
    }

    public func consoleEndpoint(ofDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        try reachable("reading the console of \(name)")
        return try state.withLock { (s: inout State) throws(DeskpoolError) -> ConsoleEndpoint in
            guard let domain = s.domains[name], domain.run == .running, let port = domain.port else {
                throw DeskpoolError(.hypervisorFailed, "\(name) has no running SPICE display on \(host)")
            }
            return ConsoleEndpoint(port: port, tlsPort: nil, browserPort: Self.browserPort(of: port))
        }
    }

    public func consoleClients(ofDesktop name: String) async throws(DeskpoolError) -> [String] {
        try reachable("listing the console clients of \(name)")
        return try state.withLock { (s: inout State) throws(DeskpoolError) -> [String] in
            guard let domain = s.domains[name] else { throw DeskpoolError(.notFound, "no domain \(name) on \(host)", field: "desktop") }
            return domain.run == .running ? s.consoleClients[name] ?? [] : []
        }
    }

    /// Forgets the desktop's console clients without events (a broker restarted while they
    /// went away: their disconnect events were never seen).
    public func dropConsoleClientsSilently(of name: String) { state.withLock { _ = $0.consoleClients.removeValue(forKey: name) } }

    /// The console password set on a desktop and until when it is valid.
    public func consolePassword(of name: String) -> (ticket: ConsoleTicket, validUntil: Date)? { state.withLock { $0.domains[name]?.console } }
    /// How many times a password change dropped the desktop's clients.
    public func kicks(of name: String) -> Int { state.withLock { $0.kicks[name] ?? 0 } }

    // MARK: - Bulk policies

    public func facts(ofDesktop name: String) async throws(DeskpoolError) -> DesktopFacts {
        try reachable("reading desktop \(name)")
        return try state.withLock { (s: inout State) throws(DeskpoolError) -> DesktopFacts in
            guard let domain = s.domains[name] else { throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop") }
            // A domain added as foreign has no hardware of Deskpool's: a small default.
            let hardware = domain.hardware ?? DesktopHardware(vcpus: 1, memoryMiB: 256)
            let disks = domain.volume.map { ["/fake/\(host)/\($0)"] } ?? []
            // Defined with a random password, as the libvirt renderer does; live, the
            // broker's console ticket and its expiry.
            let persistent = Self.definition(hardware, memoryMiB: hardware.memoryMiB, disks: disks,
                                             console: ConsoleFacts(passwordSet: true, passwordValidTo: nil, tlsRequired: false, listenAddress: "127.0.0.1"))
            let live = domain.live.map { live in
                Self.definition(live.hardware, memoryMiB: live.memoryMiB, disks: disks,
                                console: ConsoleFacts(passwordSet: true, passwordValidTo: domain.console?.validUntil, tlsRequired: false, listenAddress: "127.0.0.1"))
            }
            return DesktopFacts(identity: domain.identity, persistent: persistent, live: live)
        }
    }

    private static func definition(_ hardware: DesktopHardware, memoryMiB: Int, disks: [String], console: ConsoleFacts) -> DefinitionFacts {
        DefinitionFacts(memoryMiB: memoryMiB, maxMemoryMiB: hardware.memoryMiB, vcpus: hardware.vcpus, hardware: hardware,
                        channels: ["org.qemu.guest_agent.0", "com.redhat.spice.0"], disks: disks, console: console)
    }

    @discardableResult
    public func reconfigure(_ name: String, hardware: DesktopHardware, identity: DesktopIdentity) async throws(DeskpoolError) -> DefinitionFacts? {
        try await reconfigureDefinition(name, hardware: hardware, identity: identity)
        return try await facts(ofDesktop: name).live
    }

    private func reconfigureDefinition(_ name: String, hardware: DesktopHardware, identity: DesktopIdentity) async throws(DeskpoolError) {
        try reachable("reconfiguring desktop \(name)")
        try state.withLock { (s: inout State) throws(DeskpoolError) in
            s.operations.append("reconfigure \(name)")
            guard var domain = s.domains[name] else { throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop") }
            guard let owner = domain.identity, owner.id == identity.id, owner.incarnation == identity.incarnation else {
                throw DeskpoolError(.conflict, "reconfiguring desktop \(name) on \(host): the domain is not desktop \(identity.id) incarnation \(identity.incarnation)")
            }
            domain.hardware = hardware
            domain.identity = identity
            s.domains[name] = domain
        }
    }

    public func setLiveMemory(_ mib: Int, onDesktop name: String) async throws(DeskpoolError) {
        try state.withLock { (s: inout State) throws(DeskpoolError) in
            guard mib > 0 else { throw DeskpoolError(.invalidInput, "\(mib) MiB is not a memory size", field: "memoryMiB") }
            guard var domain = s.domains[name] else { throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop") }
            guard domain.run == .running, let live = domain.live else {
                throw DeskpoolError(.hypervisorFailed, "setting the live memory of desktop \(name) on \(host): the desktop is not running")
            }
            guard mib <= live.hardware.memoryMiB else {
                throw DeskpoolError(.invalidInput, "setting the live memory of desktop \(name): \(mib) MiB is above the live maximum of \(live.hardware.memoryMiB) MiB",
                                    field: "memoryMiB")
            }
            domain.live?.memoryMiB = mib
            s.domains[name] = domain
        }
    }

    public func runGuestCommand(_ command: GuestCommand, timeout: Duration, onDesktop name: String) async throws(DeskpoolError) -> GuestCommandResult {
        try reachable("running a command on \(name)")
        let operation = "running \(command.path) on desktop \(name) on \(host)"
        let answer = try state.withLock { (s: inout State) throws(DeskpoolError) -> (@Sendable (GuestCommand) -> GuestCommandResult?)? in
            guard let domain = s.domains[name] else { throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)", field: "desktop") }
            guard domain.run == .running else { throw DeskpoolError(.hypervisorFailed, "\(operation): the desktop is not running") }
            guard !s.silentAgents.contains(name) else { throw DeskpoolError(.hypervisorFailed, "\(operation): the guest agent does not answer") }
            s.guestCommands[name, default: []].append(command)
            return s.guestAnswers[name]
        }
        let finished = answer.map { $0(command) } ?? GuestCommandResult(exitCode: 0, stdout: "", stderr: "")
        guard var result = finished else {
            throw DeskpoolError(.hypervisorFailed, "\(operation): \(command.path) did not finish within \(timeout.components.seconds) s")
        }
        let limit = GuestCommandResult.outputLimit
        if result.stdout.utf8.count > limit || result.stderr.utf8.count > limit {
            result.stdout = String(decoding: result.stdout.utf8.prefix(limit), as: UTF8.self)
            result.stderr = String(decoding: result.stderr.utf8.prefix(limit), as: UTF8.self)
            result.truncated = true
        }
        return result
    }

    public func observe() async throws(DeskpoolError) -> [ObservedDomain] {
        try reachable("listing domains")
        return state.withLock { s in
            s.domains.map { ObservedDomain(name: $0.key, identity: $0.value.identity, run: $0.value.run) }.sorted { $0.name < $1.name }
        }
    }

    public func capacity() async throws(DeskpoolError) -> HostCapacity {
        try reachable("reading capacity")
        return state.withLock { $0.capacity }
    }

    /// How many event streams are open (each service that listens holds one): a test waits
    /// for its services to listen before it emits.
    public var eventSubscribers: Int { state.withLock { $0.continuations.count } }

    public func events() async -> AsyncStream<HypervisorEvent> {
        let (stream, continuation) = AsyncStream<HypervisorEvent>.makeStream()
        let key = state.withLock { s in
            s.nextContinuation += 1
            s.continuations[s.nextContinuation] = continuation
            return s.nextContinuation
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.continuations.removeValue(forKey: key) }
        }
        return stream
    }
}
