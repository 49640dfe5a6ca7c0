import Synchronization

/// One tunnel's byte counters, bumped by its glue handlers on every read and summed by
/// `TunnelLedger` when asked: atomics, so the hot path takes no lock.
final class TunnelMeter: Sendable {
    enum Direction: Sendable {
        case clientToDesktop, desktopToClient
    }

    private let clientToDesktop = Atomic<Int>(0)
    private let desktopToClient = Atomic<Int>(0)

    func add(_ bytes: Int, _ direction: Direction) {
        switch direction {
        case .clientToDesktop: clientToDesktop.add(bytes, ordering: .relaxed)
        case .desktopToClient: desktopToClient.add(bytes, ordering: .relaxed)
        }
    }

    var bytes: (clientToDesktop: Int, desktopToClient: Int) {
        (clientToDesktop.load(ordering: .relaxed), desktopToClient.load(ordering: .relaxed))
    }
}
