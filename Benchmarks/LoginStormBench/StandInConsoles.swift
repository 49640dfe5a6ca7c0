import BenchSupport
import DeskpoolCore
import DeskpoolLibvirt
import Foundation
import Synchronization

/// The storm's desktops run on libvirt's test driver, which has no live device update
/// (`virDomainUpdateDeviceFlags` is "not supported by the connection driver") and gives its
/// SPICE displays no port. So every other call goes to the test-driver host, and the console
/// ticket (`setConsolePassword`, the one call per desktop request the test driver cannot
/// make) goes to a real SPICE display instead: one of a few small qemu domains ("stand-ins")
/// on qemu:///system, through Deskpool's own `LibvirtHypervisor.setConsolePassword` (domain
/// lookup, run id, the live XML once per run, the live update = QMP set_password). A desktop
/// always maps to the same stand-in. Several desktops share a stand-in, so concurrent updates
/// queue on its qemu job lock where real desktops would each have their own: if anything,
/// this costs more than 200 real desktops would.
///
/// Without stand-ins (`console` nil) the ticket is not set anywhere and the report says so.
final class StandInConsoles: Hypervisor {
    let inner: LibvirtHypervisor
    let console: LibvirtHypervisor?
    let standIns: [String]
    private let tally = Mutex<(count: Int, total: Double, max: Double)>((0, 0, 0))

    init(inner: LibvirtHypervisor, console: LibvirtHypervisor?, standIns: [String]) {
        self.inner = inner
        self.console = console
        self.standIns = standIns
    }

    var host: String { inner.host }
    var status: HostStatus { inner.status }
    func recovered(generation: Int) { inner.recovered(generation: generation) }
    func consoleClients(ofDesktop name: String) async throws(DeskpoolError) -> [String] { try await inner.consoleClients(ofDesktop: name) }

    /// Ticket updates so far: how many, their mean and longest time, seconds.
    var tickets: (count: Int, mean: Double, max: Double) {
        tally.withLock { ($0.count, $0.count == 0 ? 0 : $0.total / Double($0.count), $0.max) }
    }

    func resetTickets() { tally.withLock { $0 = (0, 0, 0) } }

    private func standIn(for name: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return standIns[Int(hash % UInt32(standIns.count))]
    }

    func setConsolePassword(_ ticket: ConsoleTicket, validUntil: Date, disconnectClients: Bool,
                            onDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        guard let console else { return ConsoleEndpoint(port: 5900, tlsPort: nil) }
        let start = ContinuousClock.now
        let endpoint = try await console.setConsolePassword(ticket, validUntil: validUntil, disconnectClients: disconnectClients,
                                                            onDesktop: standIn(for: name))
        let elapsed = (ContinuousClock.now - start).seconds
        tally.withLock { $0 = ($0.count + 1, $0.total + elapsed, max($0.max, elapsed)) }
        return endpoint
    }

    func setBrowserPassword(_ password: BrowserConsolePassword, validUntil: Date,
                            onDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        guard let console else { return ConsoleEndpoint(port: 5900, tlsPort: nil, browserPort: 5901) }
        return try await console.setBrowserPassword(password, validUntil: validUntil, onDesktop: standIn(for: name))
    }

    func consoleEndpoint(ofDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        guard let console else { return ConsoleEndpoint(port: 5900, tlsPort: nil) }
        return try await console.consoleEndpoint(ofDesktop: standIn(for: name))
    }

    // MARK: - Everything else: the test-driver host

    func importBaseVolume(named volume: String, from source: ImageSource, limits: ImageImportConfiguration) async throws(DeskpoolError) {
        try await inner.importBaseVolume(named: volume, from: source, limits: limits)
    }
    func volumeExists(named volume: String) async throws(DeskpoolError) -> Bool { try await inner.volumeExists(named: volume) }
    func deleteVolume(named volume: String) async throws(DeskpoolError) { try await inner.deleteVolume(named: volume) }
    func deskpoolVolumes() async throws(DeskpoolError) -> [String] { try await inner.deskpoolVolumes() }
    func createDesktop(_ desktop: DesktopIdentity, base: String, template: TemplateDefinition,
                       hardware: DesktopHardware, seed: IdentitySeed?) async throws(DeskpoolError) {
        try await inner.createDesktop(desktop, base: base, template: template, hardware: hardware, seed: seed)
    }
    func startDesktop(named name: String) async throws(DeskpoolError) { try await inner.startDesktop(named: name) }
    func probe(named name: String) async throws(DeskpoolError) -> GuestProbe { try await inner.probe(named: name) }
    func stopDesktop(named name: String, timeout: Duration) async throws(DeskpoolError) {
        try await inner.stopDesktop(named: name, timeout: timeout)
    }
    func saveDesktop(named name: String) async throws(DeskpoolError) {
        try await inner.saveDesktop(named: name)
    }
    func destroyDesktop(named name: String, volume: String) async throws(DeskpoolError) {
        try await inner.destroyDesktop(named: name, volume: volume)
    }
    func rebootDesktop(named name: String) async throws(DeskpoolError) { try await inner.rebootDesktop(named: name) }
    func guestHostName(ofDesktop name: String) async throws(DeskpoolError) -> String? { try await inner.guestHostName(ofDesktop: name) }
    func showMessage(_ text: String, onDesktop name: String) async throws(DeskpoolError) {
        try await inner.showMessage(text, onDesktop: name)
    }
    func facts(ofDesktop name: String) async throws(DeskpoolError) -> DesktopFacts { try await inner.facts(ofDesktop: name) }
    func reconfigure(_ name: String, hardware: DesktopHardware, identity: DesktopIdentity) async throws(DeskpoolError) -> DefinitionFacts? {
        try await inner.reconfigure(name, hardware: hardware, identity: identity)
    }
    func setLiveMemory(_ mib: Int, onDesktop name: String) async throws(DeskpoolError) {
        try await inner.setLiveMemory(mib, onDesktop: name)
    }
    func runGuestCommand(_ command: GuestCommand, timeout: Duration, onDesktop name: String) async throws(DeskpoolError) -> GuestCommandResult {
        try await inner.runGuestCommand(command, timeout: timeout, onDesktop: name)
    }
    func observe() async throws(DeskpoolError) -> [ObservedDomain] { try await inner.observe() }
    func capacity() async throws(DeskpoolError) -> HostCapacity { try await inner.capacity() }
    func events() async -> AsyncStream<HypervisorEvent> { await inner.events() }
}
