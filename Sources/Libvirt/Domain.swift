internal import CLibvirt
import Foundation

/// A libvirt domain (a virtual machine), defined or running.
///
/// Holds a reference to libvirt's domain object; the name and UUID are read once. Every
/// call that may block runs on libvirt's threads.
public final class Domain: @unchecked Sendable {
    // @unchecked: the pointer is immutable and libvirt's domain objects are thread-safe.
    let pointer: virDomainPtr
    public let connection: Connection
    /// The domain's name and UUID, read once.
    public let identity: DomainIdentity
    public var name: String { identity.name }
    /// The UUID in its canonical text form, lowercase.
    public var uuid: String { identity.uuid }

    init(pointer: virDomainPtr, connection: Connection) {
        self.pointer = pointer
        self.connection = connection
        self.identity = DomainIdentity(pointer)
    }

    deinit { virDomainFree(pointer) }

    func run<T: Sendable>(
        _ body: @escaping @Sendable (virDomainPtr) throws(LibvirtError) -> T
    ) async throws(LibvirtError) -> T {
        try await connection.run { [self] _ throws(LibvirtError) -> T in try body(self.pointer) }
    }

    // MARK: - Lifecycle

    /// Starts (boots) a defined domain.
    public func start() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virDomainCreate(pointer)) }
    }

    /// Asks the guest to shut down (ACPI or agent); returns before the guest has stopped.
    public func shutdown() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virDomainShutdown(pointer)) }
    }

    /// Asks the guest to reboot.
    public func reboot() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virDomainReboot(pointer, 0)) }
    }

    /// Stops the domain at once (power off). `graceful` sends SIGTERM only, without SIGKILL.
    public func destroy(graceful: Bool = false) async throws(LibvirtError) {
        let flags = graceful ? VIR_DOMAIN_DESTROY_GRACEFUL.rawValue : 0
        try await run { pointer throws(LibvirtError) in _ = try check(virDomainDestroyFlags(pointer, flags)) }
    }

    /// Saves the running guest's memory to the host's managed save file and stops the domain;
    /// the next `start` restores it (running) instead of booting.
    public func managedSave() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virDomainManagedSave(pointer, VIR_DOMAIN_SAVE_RUNNING.rawValue)) }
    }

    /// Whether a managed save image waits for the domain's next start.
    public func hasManagedSave() async throws(LibvirtError) -> Bool {
        try await run { pointer throws(LibvirtError) in try check(virDomainHasManagedSaveImage(pointer, 0)) == 1 }
    }

    /// Discards the managed save image (the next start boots afresh); none is fine.
    public func removeManagedSave() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virDomainManagedSaveRemove(pointer, 0)) }
    }

    /// What `undefine` removes besides the definition.
    public struct UndefineOptions: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let managedSave = UndefineOptions(rawValue: VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue)
        public static let snapshotsMetadata = UndefineOptions(rawValue: VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue)
        public static let nvram = UndefineOptions(rawValue: VIR_DOMAIN_UNDEFINE_NVRAM.rawValue)
        public static let checkpointsMetadata = UndefineOptions(rawValue: VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA.rawValue)
    }

    /// Removes the persistent definition. A running domain keeps running as a transient one.
    public func undefine(_ options: UndefineOptions = []) async throws(LibvirtError) {
        let flags = options.rawValue
        try await run { pointer throws(LibvirtError) in _ = try check(virDomainUndefineFlags(pointer, flags)) }
    }

    // MARK: - State

    /// The domain's state and libvirt's reason code for it.
    public func state() async throws(LibvirtError) -> DomainState {
        try await run { pointer throws(LibvirtError) in
            var state: Int32 = 0
            var reason: Int32 = 0
            try check(virDomainGetState(pointer, &state, &reason, 0))
            return DomainState(rawState: state, reason: reason)
        }
    }

    /// Whether the domain is running (or paused).
    public func isActive() async throws(LibvirtError) -> Bool {
        try await run { pointer throws(LibvirtError) in try check(virDomainIsActive(pointer)) == 1 }
    }

    /// The domain's id while it runs (`virDomainGetID`): a new one each time it starts, so it
    /// tells one run from the next. nil when it is not running.
    public func runID() async throws(LibvirtError) -> UInt32? {
        try await run { pointer throws(LibvirtError) in
            let id = virDomainGetID(pointer)
            return id == UInt32.max ? nil : id
        }
    }

    /// Whether the domain has a persistent definition.
    public func isPersistent() async throws(LibvirtError) -> Bool {
        try await run { pointer throws(LibvirtError) in try check(virDomainIsPersistent(pointer)) == 1 }
    }

    // MARK: - XML

    /// Which XML `xml(_:)` returns.
    public struct XMLOptions: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Include secrets such as the console password (`passwd`). Not on read-only connections.
        public static let secure = XMLOptions(rawValue: VIR_DOMAIN_XML_SECURE.rawValue)
        /// The persistent definition rather than the live one.
        public static let inactive = XMLOptions(rawValue: VIR_DOMAIN_XML_INACTIVE.rawValue)
        public static let migratable = XMLOptions(rawValue: VIR_DOMAIN_XML_MIGRATABLE.rawValue)
    }

    /// The domain XML: live while running unless `.inactive` is given.
    public func xml(_ options: XMLOptions = []) async throws(LibvirtError) -> String {
        let flags = options.rawValue
        return try await run { pointer throws(LibvirtError) in try takeString(virDomainGetXMLDesc(pointer, flags)) }
    }

    /// Which definition a change applies to.
    public struct ModificationImpact: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The running domain only.
        public static let live = ModificationImpact(rawValue: VIR_DOMAIN_AFFECT_LIVE.rawValue)
        /// The persistent definition only.
        public static let config = ModificationImpact(rawValue: VIR_DOMAIN_AFFECT_CONFIG.rawValue)
        /// Live if running, else the persistent definition (libvirt's "current").
        public static let current: ModificationImpact = []
    }

    // MARK: - Metadata

    /// The custom metadata element stored under `namespaceURI`, or `nil` when there is none.
    public func metadata(namespaceURI: String, impact: ModificationImpact = .current) async throws(LibvirtError) -> String? {
        let flags = impact.rawValue
        return try await run { pointer throws(LibvirtError) -> String? in
            let value = virDomainGetMetadata(pointer, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), namespaceURI, flags)
            guard let value else {
                let error = LibvirtError.last()
                if error.code == .noDomainMetadata { return nil }
                throw error
            }
            defer { free(value) }
            return String(cString: value)
        }
    }

    /// Stores `xml` (one element) as custom metadata under `namespaceURI`, written with the
    /// namespace prefix `key`; `nil` removes it.
    public func setMetadata(
        _ xml: String?, key: String, namespaceURI: String, impact: ModificationImpact = .current
    ) async throws(LibvirtError) {
        let flags = impact.rawValue
        try await run { pointer throws(LibvirtError) in
            try withOptionalCStrings([xml, key, namespaceURI]) { args throws(LibvirtError) in
                _ = try check(virDomainSetMetadata(
                    pointer, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), args[0], args[1], args[2], flags))
            }
        }
    }

    // MARK: - Devices

    /// How `updateDevice` applies a change.
    public struct DeviceUpdateOptions: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let live = DeviceUpdateOptions(rawValue: VIR_DOMAIN_DEVICE_MODIFY_LIVE.rawValue)
        public static let config = DeviceUpdateOptions(rawValue: VIR_DOMAIN_DEVICE_MODIFY_CONFIG.rawValue)
        /// Force the change (e.g. eject a locked CD-ROM).
        public static let force = DeviceUpdateOptions(rawValue: VIR_DOMAIN_DEVICE_MODIFY_FORCE.rawValue)
    }

    /// Changes a device in place (`virDomainUpdateDeviceFlags`), e.g. a `<graphics>` element
    /// to set a new console password.
    public func updateDevice(xml: String, _ options: DeviceUpdateOptions = .live) async throws(LibvirtError) {
        let flags = options.rawValue
        try await run { pointer throws(LibvirtError) in
            _ = try check(virDomainUpdateDeviceFlags(pointer, xml, flags))
        }
    }

    // MARK: - Guest agent

    /// How long `agentCommand` waits for the guest agent.
    public enum AgentTimeout: Sendable, Hashable {
        /// Wait as long as it takes.
        case block
        /// libvirt's default (currently 5 s).
        case `default`
        /// Do not wait for an answer.
        case noWait
        case seconds(Int32)

        var rawValue: Int32 {
            switch self {
            case .block: VIR_DOMAIN_QEMU_AGENT_COMMAND_BLOCK.rawValue
            case .default: VIR_DOMAIN_QEMU_AGENT_COMMAND_DEFAULT.rawValue
            case .noWait: VIR_DOMAIN_QEMU_AGENT_COMMAND_NOWAIT.rawValue
            case .seconds(let seconds): max(seconds, 1)
            }
        }
    }

    /// Sends one JSON command to the qemu guest agent and returns its JSON answer, e.g.
    /// `{"execute":"guest-ping"}` -> `{"return":{}}`.
    public func agentCommand(_ json: String, timeout: AgentTimeout = .default) async throws(LibvirtError) -> String {
        let seconds = timeout.rawValue
        return try await run { pointer throws(LibvirtError) in
            try takeString(virDomainQemuAgentCommand(pointer, json, seconds, 0))
        }
    }

    /// Sends one QMP command to the domain's qemu monitor and returns its JSON answer, e.g.
    /// `{"execute":"query-spice"}`. For queries libvirt has no API for; libvirt marks the
    /// domain "tainted: custom-monitor" in its log at the first use.
    public func qemuMonitorCommand(_ json: String) async throws(LibvirtError) -> String {
        try await run { pointer throws(LibvirtError) in
            var result: UnsafeMutablePointer<CChar>?
            try check(virDomainQemuMonitorCommand(pointer, json, &result, 0))
            return try takeString(result)
        }
    }
}
