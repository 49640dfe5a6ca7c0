public import Foundation

/// The decisions of a supervised host connection, without I/O: when to try to connect again,
/// and what `HostStatus` says. `HostLink` (DeskpoolLibvirt) owns one, feeds it what happened
/// (an attempt failed, the connection is up, it dropped, the recovery pass ran) and does what
/// it answers (`HostLinkMachineTests`).
///
/// Retries back off from `Backoff.first` by `factor` up to `cap`: a restarting libvirtd is
/// found again within seconds, a host down for hours costs one attempt every `cap`.
public struct HostLinkMachine: Sendable, Hashable {
    public struct Backoff: Sendable, Hashable {
        public var first: Duration
        public var factor: Double
        public var cap: Duration

        public init(first: Duration = .milliseconds(500), factor: Double = 1.5, cap: Duration = .seconds(30)) {
            self.first = first
            self.factor = factor
            self.cap = cap
        }

        /// The wait before the attempt that follows `failures` failed ones (0: the first retry).
        public func delay(afterFailures failures: Int) -> Duration {
            let grown = first.timeInterval * pow(factor, Double(max(0, min(failures, 64))))
            return .milliseconds(Int((min(grown, cap.timeInterval) * 1000).rounded()))
        }
    }

    /// What the owner does next.
    public enum Action: Sendable, Hashable {
        /// Try to connect after this wait.
        case connect(after: Duration)
        /// Connected: subscribe to events again and ask for a recovery pass.
        case resubscribe(generation: Int)
        /// Nothing.
        case none
    }

    public let backoff: Backoff
    public private(set) var status: HostStatus

    public init(backoff: Backoff = Backoff(), now: Date) {
        self.backoff = backoff
        self.status = HostStatus(state: .connecting, since: now)
    }

    /// The connection was opened (the first time, or again).
    public mutating func connected(at now: Date) -> Action {
        let first = status.generation == 0
        status = HostStatus(state: first ? .connected : .recovering, since: now, generation: status.generation + 1)
        // The first connection's recovery is the broker's start-up pass, which runs anyway;
        // after a drop, events were missed and the host's desktops must be looked at again.
        return .resubscribe(generation: status.generation)
    }

    /// An attempt to connect failed.
    public mutating func attemptFailed(_ reason: String, at now: Date) -> Action {
        let wait = backoff.delay(afterFailures: status.failedAttempts)
        status = HostStatus(state: status.state == .connecting && status.generation == 0 ? .connecting : .away,
                            since: status.state == .away || status.state == .connecting ? status.since : now,
                            lastError: reason, retryAt: now.addingTimeInterval(wait.timeInterval),
                            failedAttempts: status.failedAttempts + 1, generation: status.generation)
        return .connect(after: wait)
    }

    /// The open connection dropped (libvirtd restarted or stopped, keepalive timed out).
    public mutating func dropped(_ reason: String, at now: Date) -> Action {
        guard status.isConnected else { return .none }
        let wait = backoff.delay(afterFailures: 0)
        status = HostStatus(state: .away, since: now, lastError: reason, retryAt: now.addingTimeInterval(wait.timeInterval),
                            failedAttempts: 0, generation: status.generation)
        return .connect(after: wait)
    }

    /// The broker's recovery pass for `generation` finished: the host takes new work. A pass
    /// for an older connection changes nothing.
    public mutating func recovered(generation: Int, at now: Date) {
        guard status.state == .recovering, status.generation == generation else { return }
        status.state = .connected
        status.since = now
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    public var timeInterval: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}
