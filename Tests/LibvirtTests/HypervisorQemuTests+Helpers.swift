import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Synchronization
import Testing

extension HypervisorQemuTests {
    /// A hypervisor on a sandbox dir pool of qemu:///system; nothing of the sandbox is left
    /// afterwards, also after a failure.
    static func withHypervisor(_ body: (LibvirtHypervisor, LibvirtSandbox, TemplateDefinition) async throws -> Void) async throws {
        let prefix = try await LibvirtSandbox.run(uri: QemuSystemTests.uri) { sandbox in
            let pool = try await sandbox.makeDirPool()
            let hypervisor = LibvirtHypervisor(host: "local", connection: sandbox.connection, storagePool: pool.name,
                                               domainType: HostFacts.acceleration().domainType)
            let template = try TemplateDefinition.load(directory: DesktopDomainXMLTests.templatesDirectory + "/tiny-linux")
            try await body(hypervisor, sandbox, template)
            return sandbox.prefix
        }
        try await QemuSystemTests.expectNothingLeft(prefix: prefix)
    }

    /// A domain name prefix of words only (e.g. `dpocr-kestrel-copper-`), which tesseract
    /// reads exactly on the console, unlike hex digits.
    static func ocrFriendlyPrefix() -> String {
        let words = GuestConsole.ocrFriendlyWords
        return "dpocr-\(words.randomElement()!)-\(words.randomElement()!)-\(words.randomElement()!)-"
    }

    /// Runs `body`, then destroys and undefines every domain named `prefix...` (for domains
    /// outside the sandbox's prefix), also when `body` throws.
    static func removingDomains(prefix: String, on connection: Connection, _ body: () async throws -> Void) async throws {
        let result: Result<Void, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        for listing in (try? await connection.listDomains()) ?? [] where listing.domain.name.hasPrefix(prefix) {
            try? await listing.domain.destroy()
            try? await listing.domain.undefine([.managedSave, .snapshotsMetadata, .nvram])
        }
        try result.get()
        try await QemuSystemTests.expectNothingLeft(prefix: prefix)
    }

    /// Whether this host has /dev/kvm that cannot run Linux guests (nested through kvm_pvm).
    static var kvmIsBrokenHere: Bool {
        TestTier.tinyGuest.isEnabled && TestTier.kvmCannotRunLinuxGuests
    }

    /// Collects a stream's events in the background until the stream ends.
    static func collect(_ events: AsyncStream<HypervisorEvent>) -> EventLog {
        let log = EventLog()
        log.task = Task { for await event in events { log.append(event) } }
        return log
    }

    /// The volume holds the file's bytes (libvirt may leave its own bytes past the end).
    static func expectSameImage(_ volumePath: String, as filePath: String) throws {
        let original = try #require(FileManager.default.contents(atPath: filePath))
        let uploaded = try #require(FileManager.default.contents(atPath: volumePath))
        #expect(uploaded.count >= original.count)
        print("[upload] file \(original.count) bytes, volume \(uploaded.count) bytes")
        #expect(uploaded.prefix(original.count) == original)
        #expect(try QemuImage.info(volumePath).format == "qcow2")
    }
}

/// Events a test has seen so far, filled by a background task.
final class EventLog: @unchecked Sendable {
    // @unchecked: `events` is in a Mutex; `task` is set once, right after init.
    private let events = Mutex<[HypervisorEvent]>([])
    var task: Task<Void, Never>?

    func append(_ event: HypervisorEvent) { events.withLock { $0.append(event) } }
    var all: [HypervisorEvent] { events.withLock { $0 } }
    func contains(_ domain: String, _ kind: HypervisorEvent.Kind) -> Bool { all.contains { $0.domain == domain && $0.kind == kind } }
}
