import DeskpoolCore
import Foundation
import Synchronization

/// A `Hypervisor` that forwards every call to another one and records, per kind of call, how
/// many were made and how long they took, and when each desktop's `startDesktop` returned.
/// With `holdProbes`, probes answer `.booting` without asking the host until `releaseProbes()`
/// (to see how much probing booting guests slows the starts of the others).
final class TimedHypervisor: Hypervisor {
    struct Tally: Sendable {
        var count = 0
        var total = Duration.zero
    }

    struct Record: Sendable {
        var calls: [String: Tally] = [:]
        var started: [String: ContinuousClock.Instant] = [:]
        var probesHeld = false
    }

    let inner: any Hypervisor
    private let record: Mutex<Record>

    init(_ inner: any Hypervisor, holdProbes: Bool = false) {
        self.inner = inner
        self.record = Mutex(Record(probesHeld: holdProbes))
    }

    var host: String { inner.host }
    var status: HostStatus { inner.status }
    func recovered(generation: Int) { inner.recovered(generation: generation) }
    func consoleClients(ofDesktop name: String) async throws(DeskpoolError) -> [String] { try await inner.consoleClients(ofDesktop: name) }

    var snapshot: Record { record.withLock { $0 } }

    func releaseProbes() { record.withLock { $0.probesHeld = false } }

    func reset() { record.withLock { $0.calls = [:]; $0.started = [:] } }

    private func timed<T>(_ kind: String, _ body: () async throws(DeskpoolError) -> T) async throws(DeskpoolError) -> T {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            record.withLock { $0.calls[kind, default: Tally()].count += 1; $0.calls[kind, default: Tally()].total += elapsed }
        }
        return try await body()
    }

    func importBaseVolume(named volume: String, from source: ImageSource, limits: ImageImportConfiguration) async throws(DeskpoolError) {
        try await timed("importBaseVolume") { () async throws(DeskpoolError) in try await inner.importBaseVolume(named: volume, from: source, limits: limits) }
    }

    func volumeExists(named volume: String) async throws(DeskpoolError) -> Bool {
        try await timed("volumeExists") { () async throws(DeskpoolError) in try await inner.volumeExists(named: volume) }
    }

    func deleteVolume(named volume: String) async throws(DeskpoolError) {
        try await timed("deleteVolume") { () async throws(DeskpoolError) in try await inner.deleteVolume(named: volume) }
    }

    func deskpoolVolumes() async throws(DeskpoolError) -> [String] {
        try await timed("deskpoolVolumes") { () async throws(DeskpoolError) in try await inner.deskpoolVolumes() }
    }

    func createDesktop(_ desktop: DesktopIdentity, base: String, template: TemplateDefinition,
                       hardware: DesktopHardware, seed: IdentitySeed?) async throws(DeskpoolError) {
        try await timed("createDesktop") { () async throws(DeskpoolError) in
            try await inner.createDesktop(desktop, base: base, template: template, hardware: hardware, seed: seed)
        }
    }

    func startDesktop(named name: String) async throws(DeskpoolError) {
        try await timed("startDesktop") { () async throws(DeskpoolError) in try await inner.startDesktop(named: name) }
        let now = ContinuousClock.now
        record.withLock { $0.started[name] = $0.started[name] ?? now }
    }

    func probe(named name: String) async throws(DeskpoolError) -> GuestProbe {
        if record.withLock({ $0.probesHeld }) { return .booting }
        return try await timed("probe") { () async throws(DeskpoolError) in try await inner.probe(named: name) }
    }

    func destroyDesktop(named name: String, volume: String) async throws(DeskpoolError) {
        try await timed("destroyDesktop") { () async throws(DeskpoolError) in try await inner.destroyDesktop(named: name, volume: volume) }
    }

    func setConsolePassword(_ ticket: ConsoleTicket, validUntil: Date, disconnectClients: Bool,
                            onDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        try await timed("setConsolePassword") { () async throws(DeskpoolError) in
            try await inner.setConsolePassword(ticket, validUntil: validUntil, disconnectClients: disconnectClients, onDesktop: name)
        }
    }

    func setBrowserPassword(_ password: BrowserConsolePassword, validUntil: Date,
                            onDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        try await timed("setBrowserPassword") { () async throws(DeskpoolError) in
            try await inner.setBrowserPassword(password, validUntil: validUntil, onDesktop: name)
        }
    }

    func consoleEndpoint(ofDesktop name: String) async throws(DeskpoolError) -> ConsoleEndpoint {
        try await timed("consoleEndpoint") { () async throws(DeskpoolError) in try await inner.consoleEndpoint(ofDesktop: name) }
    }

    func stopDesktop(named name: String, timeout: Duration) async throws(DeskpoolError) {
        try await timed("stopDesktop") { () async throws(DeskpoolError) in try await inner.stopDesktop(named: name, timeout: timeout) }
    }

    func saveDesktop(named name: String) async throws(DeskpoolError) {
        try await timed("saveDesktop") { () async throws(DeskpoolError) in try await inner.saveDesktop(named: name) }
    }

    func rebootDesktop(named name: String) async throws(DeskpoolError) {
        try await timed("rebootDesktop") { () async throws(DeskpoolError) in try await inner.rebootDesktop(named: name) }
    }

    func guestHostName(ofDesktop name: String) async throws(DeskpoolError) -> String? {
        try await timed("guestHostName") { () async throws(DeskpoolError) in try await inner.guestHostName(ofDesktop: name) }
    }

    func showMessage(_ text: String, onDesktop name: String) async throws(DeskpoolError) {
        try await timed("showMessage") { () async throws(DeskpoolError) in try await inner.showMessage(text, onDesktop: name) }
    }

    func facts(ofDesktop name: String) async throws(DeskpoolError) -> DesktopFacts {
        try await timed("facts") { () async throws(DeskpoolError) in try await inner.facts(ofDesktop: name) }
    }

    func reconfigure(_ name: String, hardware: DesktopHardware, identity: DesktopIdentity) async throws(DeskpoolError) -> DefinitionFacts? {
        try await timed("reconfigure") { () async throws(DeskpoolError) in
            try await inner.reconfigure(name, hardware: hardware, identity: identity)
        }
    }

    func setLiveMemory(_ mib: Int, onDesktop name: String) async throws(DeskpoolError) {
        try await timed("setLiveMemory") { () async throws(DeskpoolError) in try await inner.setLiveMemory(mib, onDesktop: name) }
    }

    func runGuestCommand(_ command: GuestCommand, timeout: Duration, onDesktop name: String) async throws(DeskpoolError) -> GuestCommandResult {
        try await timed("runGuestCommand") { () async throws(DeskpoolError) in
            try await inner.runGuestCommand(command, timeout: timeout, onDesktop: name)
        }
    }

    func observe() async throws(DeskpoolError) -> [ObservedDomain] {
        try await timed("observe") { () async throws(DeskpoolError) in try await inner.observe() }
    }

    func capacity() async throws(DeskpoolError) -> HostCapacity {
        try await timed("capacity") { () async throws(DeskpoolError) in try await inner.capacity() }
    }

    func events() async -> AsyncStream<HypervisorEvent> { await inner.events() }
}
