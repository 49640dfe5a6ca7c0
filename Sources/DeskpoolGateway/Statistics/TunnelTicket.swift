import Synchronization

/// A tunnel's slot under the gateway's limits, from admission until `release()`: the tunnel's
/// handshake names its channel through it, and its close returns the slot and folds its bytes
/// into its session's totals.
final class TunnelTicket: Sendable {
    let session: String
    let meter = TunnelMeter()
    private let ledger: TunnelLedger
    private let released = Atomic<Bool>(false)

    init(session: String, ledger: TunnelLedger) {
        self.session = session
        self.ledger = ledger
    }

    /// Records what the tunnel carries (once its first bytes are known).
    func identify(_ channel: TunnelChannel) {
        ledger.record(channel, for: self)
    }

    /// Returns the slot; later calls do nothing, so every close path may call it.
    func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        ledger.release(self)
    }
}
