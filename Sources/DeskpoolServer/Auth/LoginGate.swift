public import DeskpoolCore
public import Foundation

/// Logins: the throttle first (a user or address that failed too often waits, without PAM
/// being asked), then the authenticator; failures and successes feed the throttle.
public actor LoginGate {
    private var throttle: LoginThrottle
    let authenticator: any Authenticator
    let now: @Sendable () -> Date

    public init(authenticator: any Authenticator, policy: LoginThrottle.Policy, now: @escaping @Sendable () -> Date = { Date() }) {
        self.authenticator = authenticator
        self.throttle = LoginThrottle(policy: policy)
        self.now = now
    }

    /// A refused login: the error, and when a throttled client may try again.
    public struct Refusal: Error, Sendable {
        public var error: DeskpoolError
        public var retryAfter: Date?
    }

    public func login(user: String, password: String, address: String?) async throws(Refusal) -> SessionBroker.Principal {
        guard DeskpoolConfiguration.isSafeName(user) else {
            throw Refusal(error: DeskpoolError(.invalidInput, "must be a user name (letters, digits, '.', '_' or '-')", field: "user"))
        }
        if case .wait(let until, let locked) = throttle.check(user: user, address: address, now: now()) {
            let what = locked ? "too many failed logins: locked" : "too many failed logins: wait"
            throw Refusal(error: DeskpoolError(.throttled, "\(what) until \(until.formatted(.iso8601))"), retryAfter: until)
        }
        do throws(DeskpoolError) {
            // Actors are reentrant: the throttle may change while PAM runs.
            let principal = try await authenticator.authenticate(user: user, password: password, from: address)
            throttle.succeeded(user: user, address: address)
            return principal
        } catch {
            if error.code == .unauthenticated || error.code == .accountUnusable {
                throttle.failed(user: user, address: address, now: now())
            }
            throw Refusal(error: error)
        }
    }
}
