import Synchronization

/// How long a new desktop takes to become ready, per pool: a moving average of recent
/// provisioning times, so a user told "preparing" gets an honest estimate.
public final class ReadyEstimator: Sendable {
    private let averages = Mutex<[String: Double]>([:])
    private let initialSeconds: Double

    public init(initialSeconds: Double = 30) {
        self.initialSeconds = initialSeconds
    }

    public func record(pool: String, seconds: Double) {
        averages.withLock { $0[pool] = $0[pool].map { 0.7 * $0 + 0.3 * seconds } ?? seconds }
    }

    /// Seconds until a desktop started now is likely ready (at least 1).
    public func estimate(pool: String) -> Int {
        max(1, Int((averages.withLock { $0[pool] } ?? initialSeconds).rounded(.up)))
    }
}
