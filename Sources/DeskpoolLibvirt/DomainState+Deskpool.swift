public import DeskpoolCore
public import Libvirt

extension DomainState {
    /// Why the domain cannot serve a user, in words for admins; nil while it runs (or is
    /// paused on purpose, e.g. by an admin or for a migration).
    public var brokenReason: String? {
        switch kind {
        case .running, .blocked, .shutdown: nil
        case .paused: Self.errorPauses.contains(reason) ? "paused: \(Self.pausedReasons[reason] ?? "reason \(reason)")" : nil
        case .shutoff: "stopped: \(Self.shutoffReasons[reason] ?? "reason \(reason)")"
        case .crashed: reason == 1 ? "crashed: guest panicked" : "crashed"
        case .suspended: "suspended by the guest"
        case .noState: "no state"
        }
    }

    /// The domain's state as `Hypervisor.observe` reports it.
    public var runState: ObservedDomain.RunState {
        switch kind {
        // A guest that crashed (a kernel panic through pvpanic, qemu gone) is broken, not shut down.
        case .shutoff: reason == 3 ? .broken(brokenReason ?? "crashed") : .stopped
        default: brokenReason.map(ObservedDomain.RunState.broken) ?? .running
        }
    }

    /// Paused reasons that mean the guest cannot go on by itself (VIR_DOMAIN_PAUSED_*):
    /// unknown (how qemu's "internal-error" run state shows, e.g. a KVM emulation failure),
    /// I/O error, watchdog, crashed, post-copy failed, API error.
    static let errorPauses: Set<Int32> = [0, 5, 6, 10, 13, 14]

    static let pausedReasons: [Int32: String] = [
        0: "internal error (unknown reason)", 1: "by user", 2: "migrating", 3: "saving", 4: "dumping", 5: "I/O error",
        6: "watchdog", 7: "from snapshot", 8: "shutting down", 9: "snapshot", 10: "guest crashed", 11: "starting up",
        12: "post-copy", 13: "post-copy failed", 14: "API error",
    ]

    static let shutoffReasons: [Int32: String] = [
        0: "not started", 1: "shut down", 2: "destroyed", 3: "crashed", 4: "migrated", 5: "saved", 6: "failed to start",
        7: "from snapshot", 8: "daemon",
    ]
}

extension LifecycleEvent {
    /// A `.stopped` event's detail in words.
    var stoppedReason: String {
        switch stoppedDetail {
        case .shutdown: "shut down"
        case .destroyed: "destroyed"
        case .crashed: "crashed"
        case .migrated: "migrated"
        case .saved: "saved"
        case .failed: "failed"
        case .fromSnapshot: "from snapshot"
        case nil: "detail \(detail)"
        }
    }

    /// A `.suspended` event that means the guest stopped on an error
    /// (VIR_DOMAIN_EVENT_SUSPENDED_IOERROR, _WATCHDOG, _API_ERROR, _POSTCOPY_FAILED).
    var errorPause: String? {
        guard kind == .suspended else { return nil }
        return [2: "paused: I/O error", 3: "paused: watchdog", 6: "paused: API error", 8: "paused: post-copy failed"][detail]
    }
}
