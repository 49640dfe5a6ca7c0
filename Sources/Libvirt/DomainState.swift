internal import CLibvirt

/// A domain's state as libvirt reports it, with libvirt's reason code.
public struct DomainState: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Int32, Sendable {
        case noState = 0, running, blocked, paused, shutdown, shutoff, crashed, suspended
    }

    public let kind: Kind
    /// The reason number for `kind` (e.g. for `.paused`, `VIR_DOMAIN_PAUSED_IOERROR`).
    public let reason: Int32

    public init(kind: Kind, reason: Int32 = 0) {
        self.kind = kind
        self.reason = reason
    }

    init(rawState: Int32, reason: Int32) {
        self.init(kind: Kind(rawValue: rawState) ?? .noState, reason: reason)
    }

    public var description: String {
        switch kind {
        case .noState: "nostate"
        case .running: "running"
        case .blocked: "blocked"
        case .paused: "paused(\(reason))"
        case .shutdown: "shutdown"
        case .shutoff: "shutoff(\(reason))"
        case .crashed: "crashed"
        case .suspended: "pmsuspended"
        }
    }
}
