import BenchSupport
import DeskpoolCore
import Foundation
import Synchronization

/// The broker's authenticator (`PAMLogin`), timed: how long the storm's logins spend in PAM,
/// waiting for a PAM thread included, to tell PAM's share of a login from the rest.
final class TimedAuthenticator: Authenticator {
    let inner: any Authenticator
    private let times = Mutex<[Double]>([])

    init(_ inner: any Authenticator) { self.inner = inner }

    var durations: [Double] { times.withLock { $0 } }
    func reset() { times.withLock { $0 = [] } }

    func begin(user: String, password: String?, service: String?, from address: String?) async -> AuthenticationStep {
        let start = ContinuousClock.now
        defer {
            let elapsed = (ContinuousClock.now - start).seconds
            times.withLock { $0.append(elapsed) }
        }
        return await inner.begin(user: user, password: password, service: service, from: address)
    }
}
