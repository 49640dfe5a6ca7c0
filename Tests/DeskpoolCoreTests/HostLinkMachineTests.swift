import DeskpoolCore
import Foundation
import Testing

/// `HostLinkMachine`: what a supervised host connection does after each thing that happens to
/// it, and what its status says. Pure, so every path is a row.
@Suite("Host link decisions")
struct HostLinkMachineTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("backoff starts at 0.5 s, grows by 1.5 and stops at 30 s", arguments: [
        (0, 500), (1, 750), (2, 1125), (3, 1688), (4, 2531), (6, 5695), (10, 28833), (11, 30000), (40, 30000), (10_000, 30000),
    ])
    func backoff(failures: Int, milliseconds: Int) {
        #expect(HostLinkMachine.Backoff().delay(afterFailures: failures) == .milliseconds(milliseconds))
    }

    enum Step: CustomStringConvertible {
        case connected, failed, dropped, recovered(Int)
        var description: String {
            switch self {
            case .connected: "connected"
            case .failed: "failed"
            case .dropped: "dropped"
            case .recovered(let generation): "recovered(\(generation))"
            }
        }
    }

    struct Row: CustomTestStringConvertible, Sendable {
        let steps: [Step]
        let state: HostStatus.State
        let generation: Int
        let failedAttempts: Int
        let last: HostLinkMachine.Action?
        var testDescription: String { steps.map(\.description).joined(separator: " → ") }
    }

    /// Each step one second after the one before.
    static func run(_ steps: [Step]) -> (HostLinkMachine, HostLinkMachine.Action?) {
        var machine = HostLinkMachine(now: t0)
        var last: HostLinkMachine.Action?
        for (index, step) in steps.enumerated() {
            let at = t0.addingTimeInterval(TimeInterval(index + 1))
            switch step {
            case .connected: last = machine.connected(at: at)
            case .failed: last = machine.attemptFailed("cannot connect", at: at)
            case .dropped: last = machine.dropped("libvirtd closed the connection", at: at)
            case .recovered(let generation):
                machine.recovered(generation: generation, at: at)
                last = nil
            }
        }
        return (machine, last)
    }

    @Test("states, generations and actions", arguments: [
        Row(steps: [], state: .connecting, generation: 0, failedAttempts: 0, last: nil),
        // The first connection needs no recovery pass: the broker's start-up pass is one.
        Row(steps: [.connected], state: .connected, generation: 1, failedAttempts: 0, last: .resubscribe(generation: 1)),
        // A host down at start stays `connecting` (never connected) and backs off.
        Row(steps: [.failed], state: .connecting, generation: 0, failedAttempts: 1, last: .connect(after: .milliseconds(500))),
        Row(steps: [.failed, .failed, .failed], state: .connecting, generation: 0, failedAttempts: 3, last: .connect(after: .milliseconds(1125))),
        Row(steps: [.failed, .failed, .connected], state: .connected, generation: 1, failedAttempts: 0, last: .resubscribe(generation: 1)),
        // A drop: away, first retry after the shortest wait.
        Row(steps: [.connected, .dropped], state: .away, generation: 1, failedAttempts: 0, last: .connect(after: .milliseconds(500))),
        Row(steps: [.connected, .dropped, .failed, .failed], state: .away, generation: 1, failedAttempts: 2, last: .connect(after: .milliseconds(750))),
        // Back after a drop: recovering until the pass of that generation.
        Row(steps: [.connected, .dropped, .failed, .connected], state: .recovering, generation: 2, failedAttempts: 0, last: .resubscribe(generation: 2)),
        Row(steps: [.connected, .dropped, .connected, .recovered(2)], state: .connected, generation: 2, failedAttempts: 0, last: nil),
        // A pass for an older connection does not count.
        Row(steps: [.connected, .dropped, .connected, .recovered(1)], state: .recovering, generation: 2, failedAttempts: 0, last: nil),
        // A drop while recovering: away again; the late pass of the dropped generation changes nothing.
        Row(steps: [.connected, .dropped, .connected, .dropped, .recovered(2)], state: .away, generation: 2, failedAttempts: 0, last: nil),
        Row(steps: [.connected, .dropped, .connected, .dropped, .connected], state: .recovering, generation: 3, failedAttempts: 0, last: .resubscribe(generation: 3)),
        // A second drop report of the same drop does nothing.
        Row(steps: [.connected, .dropped, .dropped], state: .away, generation: 1, failedAttempts: 0, last: HostLinkMachine.Action.none),
        // A pass on a connected host does nothing.
        Row(steps: [.connected, .recovered(1)], state: .connected, generation: 1, failedAttempts: 0, last: nil),
    ])
    func table(_ row: Row) {
        let (machine, last) = Self.run(row.steps)
        #expect(machine.status.state == row.state)
        #expect(machine.status.generation == row.generation)
        #expect(machine.status.failedAttempts == row.failedAttempts)
        #expect(last == row.last)
        #expect(machine.status.isConnected == (row.state == .connected || row.state == .recovering))
        #expect(machine.status.inService == (row.state == .connected))
    }

    @Test("away: since the drop, the error, when the next attempt is, and Retry-After from it")
    func awayStatus() {
        let (machine, _) = Self.run([.connected, .dropped, .failed, .failed])
        let status = machine.status
        #expect(status.since == Self.t0.addingTimeInterval(2), "away since the drop, not since the last attempt")
        #expect(status.lastError == "cannot connect")
        #expect(status.retryAt == Self.t0.addingTimeInterval(4 + 0.75))
        #expect(status.retryAfterSeconds(now: Self.t0.addingTimeInterval(4)) == 1)
        #expect(status.retryAfterSeconds(now: Self.t0.addingTimeInterval(10)) == 1, "never below 1")
        let error = status.unavailable(host: "kvm-01", operation: "opening a console", now: Self.t0.addingTimeInterval(4))
        #expect(error.code == .hypervisorUnavailable)
        #expect(error.retryAfterSeconds == 1)
        #expect(error.message.contains("kvm-01"))
    }

    @Test("Retry-After is capped at 30 s for a host down for long")
    func retryAfterCap() {
        let status = HostStatus(state: .away, since: Self.t0, retryAt: Self.t0.addingTimeInterval(3600))
        #expect(status.retryAfterSeconds(now: Self.t0) == 30)
    }
}
