public import Foundation

/// One hypervisor host as the broker sees it: linked-clone desktops with Deskpool metadata,
/// base volumes, and events. Implemented over libvirt (`LibvirtHypervisor`, for qemu:///system
/// and the test driver) and in memory (`FakeHypervisor`, for fast tests). All of them pass
/// `HypervisorConformance`.
///
/// Every operation is idempotent where the broker may repeat it after a crash: creating a
/// desktop that already exists with the same identity succeeds, destroying one that is gone
/// succeeds.
public protocol Hypervisor: Sendable {
    /// The host's name in `etc/deskpool.yaml`.
    var host: String { get }
    /// Where the connection to the host stands. While it is not `isConnected`, every
    /// operation fails at once with `.hypervisorUnavailable` (never waits for the host).
    var status: HostStatus { get }
    /// The broker's recovery pass for connection `generation` (`HostStatus.generation`) ran:
    /// a `recovering` host takes new work again.
    func recovered(generation: Int)

    /// Imports an image into the storage pool as a template version's read-only base volume,
    /// with the image's format stated explicitly (qemu never probes it). The image is checked
    /// by `ImageInspector` against `limits` before a byte is copied: a refusal is
    /// `.invalidInput` or `.tooLarge` and leaves no volume.
    func importBaseVolume(named volume: String, from source: ImageSource, limits: ImageImportConfiguration) async throws(DeskpoolError)
    func volumeExists(named volume: String) async throws(DeskpoolError) -> Bool
    /// Deletes a base volume (or an orphan clone volume); a missing volume is not an error.
    func deleteVolume(named volume: String) async throws(DeskpoolError)
    /// Names of the volumes Deskpool owns in the storage pool (`dp-` prefix, `.qcow2`).
    func deskpoolVolumes() async throws(DeskpoolError) -> [String]

    /// Creates the desktop's linked clone (on `base`) and defines its domain, with Deskpool
    /// metadata and `hardware` (the template's with the pool's overrides). If a domain with
    /// that name exists and carries the same desktop id and incarnation, does nothing; a
    /// leftover volume of the same name is replaced.
    func createDesktop(_ desktop: DesktopIdentity, base: String, template: TemplateDefinition,
                       hardware: DesktopHardware, seed: IdentitySeed?) async throws(DeskpoolError)
    /// Starts the desktop's domain; one already running is fine.
    func startDesktop(named name: String) async throws(DeskpoolError)
    /// Whether the guest is up: its agent answers (or, where a host has no agent support, the
    /// domain runs). A domain that stopped, crashed or paused on an error is `.broken`.
    func probe(named name: String) async throws(DeskpoolError) -> GuestProbe
    /// Shuts the guest down and keeps its domain and disk: through its agent (or ACPI), hard
    /// after `timeout`. A domain already stopped is fine; a saved one's memory image is
    /// discarded (its next start boots afresh).
    func stopDesktop(named name: String, timeout: Duration) async throws(DeskpoolError)
    /// Saves a running guest's memory to the host's disk and stops its domain (libvirt's
    /// managed save): the next `startDesktop` resumes the guest where it was, without a boot.
    /// A domain already saved is fine; one stopped without a saved image is `.conflict`.
    func saveDesktop(named name: String) async throws(DeskpoolError)
    /// Stops (hard) and undefines the domain and deletes `volume`; parts already gone are fine.
    func destroyDesktop(named name: String, volume: String) async throws(DeskpoolError)
    /// Sets a new console password on the desktop's SPICE display, valid until `validUntil`
    /// (a live device update); with `disconnectClients`, clients connected now are dropped.
    /// Returns where the display listens.
    func setConsolePassword(_ ticket: ConsoleTicket, validUntil: Date, disconnectClients: Bool,
                            onDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint
    /// Sets a new one-time password on the desktop's browser (VNC) display, valid until
    /// `validUntil`, and returns where the display listens (its `browserPort` set). A desktop
    /// without one is `.conflict`. Clients connected now are kept: VNC cannot drop them on a
    /// password change (the gateway's relay closes browser consoles whose session ended).
    func setBrowserPassword(_ password: BrowserConsolePassword, validUntil: Date,
                            onDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint
    /// Where the desktop's SPICE display (and its browser display, if any) listens now.
    func consoleEndpoint(ofDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint
    /// The clients connected to the desktop's SPICE display and its browser display now
    /// (`host:port` each; the gateway's own address for tunnelled ones); empty when none is or
    /// the domain is not running. A session recorded `connected` across a broker restart or
    /// a host reconnect is checked with it; `notFound` when the domain is gone.
    func consoleClients(ofDesktop name: String) async throws(DeskpoolError) -> [String]
    /// Reboots a running desktop's guest (ACPI, or the agent), as a user's "restart" would.
    func rebootDesktop(named name: String) async throws(DeskpoolError)
    /// The host name the guest reports through its agent (nil: it has no agent, or the agent
    /// does not answer yet): a template's identity health gate compares it with its seed's.
    func guestHostName(ofDesktop name: String) async throws(DeskpoolError) -> String?
    /// Shows a line of text on the desktop's console (through the guest agent).
    func showMessage(_ text: String, onDesktop name: String) async throws(DeskpoolError)

    // MARK: - Bulk policies: checks, configuration, in-guest commands

    /// What the desktop's persistent definition and (while it runs) its live one say:
    /// hardware, channels, disks, console password state (never the password itself) and
    /// Deskpool's metadata. Checks and drift reports compare it with what the pool wants.
    /// A missing domain is `.notFound`.
    func facts(ofDesktop name: String) async throws(DeskpoolError) -> DesktopFacts
    /// `facts(ofDesktop:)` of many desktops at once (a plan or a check pass reads hundreds);
    /// a desktop that cannot be read is left out.
    func facts(ofDesktops names: [String]) async -> [String: DesktopFacts]
    /// Makes the persistent definition carry exactly `hardware` and the metadata `identity`
    /// (a new configuration generation of the same desktop), in one define: the definition
    /// is either the old or the new one, never half. A running guest keeps its live
    /// configuration until its next start. A missing domain is `.notFound`; a domain of
    /// another desktop (id or incarnation) is `.conflict`. Returns the live definition of a
    /// running guest (nil when it does not run), as `facts(ofDesktop:).live` would, without
    /// reading the definition again.
    @discardableResult
    func reconfigure(_ name: String, hardware: DesktopHardware, identity: DesktopIdentity) async throws(DeskpoolError) -> DefinitionFacts?
    /// Changes a running guest's memory through its balloon, leaving the persistent
    /// definition alone (a policy can shrink idle desktops without a restart). Above the
    /// live maximum (`<memory>`) it is `.invalidInput`; the guest follows as fast as its
    /// balloon driver does.
    func setLiveMemory(_ mib: Int, onDesktop name: String) async throws(DeskpoolError)
    /// Runs a program in the guest through its agent (guest-exec) and waits for it to end,
    /// at most `timeout`. A guest whose agent does not answer fails within seconds, never
    /// hangs; a program still running at `timeout` is an error (it keeps running in the
    /// guest). Output is cut at `GuestCommandResult.outputLimit` bytes per stream.
    func runGuestCommand(_ command: GuestCommand, timeout: Duration, onDesktop name: String) async throws(DeskpoolError) -> GuestCommandResult

    /// Every domain on the host, with its Deskpool metadata if it has some.
    func observe() async throws(DeskpoolError) -> [ObservedDomain]
    /// Free capacity, for placement.
    func capacity() async throws(DeskpoolError) -> HostCapacity
    /// Lifecycle and console events of Deskpool's domains, and `.hostConnected` each time the
    /// host's connection is made again, until the consumer stops. Subscribed when it returns:
    /// no event after that is lost while the host stays connected (events of the time it was
    /// away are lost: the `.hostConnected` that follows says to look again).
    func events() async -> AsyncStream<HypervisorEvent>
}

extension Hypervisor {
    /// Imports with the default limits (`ImageImportConfiguration()`).
    public func importBaseVolume(named volume: String, from source: ImageSource) async throws(DeskpoolError) {
        try await importBaseVolume(named: volume, from: source, limits: ImageImportConfiguration())
    }

    /// Reads each desktop's facts, all at once.
    public func facts(ofDesktops names: [String]) async -> [String: DesktopFacts] {
        await withTaskGroup(of: (String, DesktopFacts?).self) { group in
            for name in names { group.addTask { (name, try? await self.facts(ofDesktop: name)) } }
            var facts: [String: DesktopFacts] = [:]
            for await (name, read) in group { if let read { facts[name] = read } }
            return facts
        }
    }

    /// Creates the desktop with its template's hardware and Deskpool's device defaults (no
    /// pool overrides), without an identity seed.
    public func createDesktop(_ desktop: DesktopIdentity, base: String, template: TemplateDefinition) async throws(DeskpoolError) {
        try await createDesktop(desktop, base: base, template: template, hardware: DesktopHardware(template: template), seed: nil)
    }

    /// Creates the desktop without an identity seed.
    public func createDesktop(_ desktop: DesktopIdentity, base: String, template: TemplateDefinition,
                              hardware: DesktopHardware) async throws(DeskpoolError) {
        try await createDesktop(desktop, base: base, template: template, hardware: hardware, seed: nil)
    }
}

/// Where a template version's image comes from.
public enum ImageSource: Sendable, Hashable {
    /// A file the broker opened and inspected (an upload, a file of the import directory, a
    /// file root named): read from its descriptor.
    case opened(OpenedImage)
    /// A qcow2 or raw file on the broker's host, named by root (tests, `deskpool local`):
    /// opened with `OpenedImage.open(path:)` and inspected like an import. Never from the API.
    case file(String)
    /// An existing volume in the host's storage pool.
    case volume(String)
    /// The first disk of an existing (shut off) domain.
    case domainDisk(String)
}

/// What a domain on the host looks like.
public struct ObservedDomain: Sendable, Hashable {
    public var name: String
    /// Deskpool's metadata; nil for domains Deskpool did not create (never touched).
    public var identity: DesktopIdentity?
    /// The broker installation that created the domain (nil: written before instances
    /// existed, taken as the default). Recovery touches only its own instance's domains.
    public var instance: String?
    public var run: RunState

    public init(name: String, identity: DesktopIdentity?, instance: String? = nil, run: RunState) {
        self.name = name
        self.identity = identity
        self.instance = instance
        self.run = run
    }

    public enum RunState: Sendable, Hashable {
        case running
        case stopped
        /// Paused or crashed for a reason other than Deskpool's request (e.g. a KVM internal error).
        case broken(String)
    }
}

public enum GuestProbe: Sendable, Hashable {
    case ready
    case booting
    case broken(String)
}

public struct HostCapacity: Sendable, Hashable {
    public var freeMemoryMiB: Int
    public var freeDiskMiB: Int
    public init(freeMemoryMiB: Int, freeDiskMiB: Int) {
        self.freeMemoryMiB = freeMemoryMiB
        self.freeDiskMiB = freeDiskMiB
    }
}

/// One step of a console channel's connection.
public enum ConsolePhase: String, Sendable, Hashable {
    /// The TCP connection was accepted.
    case connect
    /// The client presented a valid ticket; the channel is up.
    case initialize
    case disconnect
}

public struct HypervisorEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case started
        case stopped(String)
        case broken(String)
        /// A console (SPICE channel) connection changed; `client` is the connection's remote
        /// end, "ip:port".
        case console(ConsolePhase, client: String)
        case agentConnected
        /// The host's connection was made again after a drop (`domain` is empty): events of
        /// the time it was away are lost, so what they would have said must be looked up.
        case hostConnected(generation: Int)
    }
    public var host: String
    /// The domain's name; empty for `.hostConnected`.
    public var domain: String
    public var kind: Kind
    public init(host: String, domain: String, kind: Kind) {
        self.host = host
        self.domain = domain
        self.kind = kind
    }
}
