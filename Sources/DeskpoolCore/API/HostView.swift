/// A hypervisor host as admins see it: configuration, reachability and free capacity.
public struct HostView: Sendable, Hashable, Codable {
    public var name: String
    public var uri: String
    public var connected: Bool
    public var freeMemoryMiB: Int?
    public var freeDiskMiB: Int?
    /// Desktop records placed on the host.
    public var desktops: Int
    public var maxConcurrentOperations: Int
    /// Why the host cannot be asked (not connected, or the capacity query failed).
    public var error: String?
    /// The connection: `connecting`, `connected`, `recovering` (back after a drop, its
    /// recovery pass runs) or `away` (the broker retries at `retryAt`), since when, the last
    /// error and how many connections were made (`generation`; reconnects are generation - 1).
    public var link: HostStatus?
    /// The replica that drives the host now (its lease); nil when the broker is alone on its
    /// store, or no replica holds it now.
    public var owner: String?
    public init(name: String, uri: String, connected: Bool, freeMemoryMiB: Int? = nil, freeDiskMiB: Int? = nil,
                desktops: Int, maxConcurrentOperations: Int, error: String? = nil, link: HostStatus? = nil) {
        self.link = link
        self.name = name
        self.uri = uri
        self.connected = connected
        self.freeMemoryMiB = freeMemoryMiB
        self.freeDiskMiB = freeDiskMiB
        self.desktops = desktops
        self.maxConcurrentOperations = maxConcurrentOperations
        self.error = error
    }
}

/// One page of the audit log, newest first; `next` is the URL of the following (older) page.
public struct AuditPage: Sendable, Hashable, Codable {
    public var entries: [AuditEntry]
    public var next: String?
    public init(entries: [AuditEntry], next: String?) {
        self.entries = entries
        self.next = next
    }
}
