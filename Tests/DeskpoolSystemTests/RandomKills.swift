import DeskpoolCore
import DeskpoolStore
import Foundation
import Testing

/// SIGKILLs of `deskpool serve` at random moments of a rollout, each followed by a restart.
/// The moments come from a seeded generator; the seed is printed, and `DESKPOOL_KILL_SEED`
/// replays a run's delays.
struct RandomKills {
    /// Where the work under test is when a kill could land.
    enum Phase: Equatable {
        /// A kill now interrupts it.
        case interruptible
        /// Not there yet (a rollout that has not reached the phase under test).
        case notYet
        /// Over: the next rollout is started to go on killing.
        case over
    }

    let seed: UInt64
    private var state: UInt64
    /// The shortest and longest wait before a kill.
    let delays: ClosedRange<Int>

    init(milliseconds delays: ClosedRange<Int> = 300...3000) {
        let given = ProcessInfo.processInfo.environment["DESKPOOL_KILL_SEED"].flatMap(UInt64.init)
        seed = given ?? UInt64.random(in: 1...UInt64.max)
        state = seed
        self.delays = delays
    }

    /// SplitMix64: the next delay.
    mutating func delay() -> Duration {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let span = UInt64(delays.upperBound - delays.lowerBound + 1)
        return .milliseconds(delays.lowerBound + Int(z % span))
    }

    /// Kills the broker `times` times while `phase` says a kill interrupts the work, at a random
    /// delay after the work is interruptible (or after the last restart), and starts it again
    /// after each. When the work is over before that, `next` starts more of it. `atKill` runs
    /// with the broker dead (its records as the kill left them). Returns the kills' delays.
    @discardableResult
    mutating func kill(_ broker: BrokerProcess, times: Int, _ label: String,
                       phase: () async throws -> Phase, next: () async throws -> Void,
                       atKill: () async throws -> Void = {}) async throws -> [Duration] {
        print("[kills] \(label): seed \(seed) (DESKPOOL_KILL_SEED=\(seed) replays the delays)")
        var landed: [Duration] = []
        var tries = 0
        while landed.count < times {
            tries += 1
            guard tries <= times * 5 else {
                Issue.record("\(label): only \(landed.count) of \(times) kills landed in \(tries - 1) tries (seed \(seed))")
                break
            }
            try await BrokerCrashTests().wait("\(label): work to interrupt (seed \(seed))", .seconds(900), broker) {
                switch try await phase() {
                case .interruptible: return true
                case .notYet: return false
                case .over:
                    try await next()
                    return false
                }
            }
            let wait = delay()
            try await Task.sleep(for: wait)
            broker.kill9()
            if try await phase() == .interruptible {
                landed.append(wait)
                try await atKill()
            }
            try broker.startServe()
        }
        print("[kills] \(label): \(landed.count) kills landed in \(tries) tries, after \(landed.map { String(format: "%.2f s", Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18) })")
        return landed
    }
}

extension BrokerProcess {
    /// Applies a policy file with `deskpool local policy apply`; returns the rollout's id.
    func apply(policy yaml: String, file: String) throws -> String {
        let path = state + "/" + file
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let applied = try run(["local", "policy", "apply", path])
        return try #require(applied.split(separator: " ").dropFirst().first.map { String($0.dropLast()) }, "rollout id in: \(applied)")
    }
}
