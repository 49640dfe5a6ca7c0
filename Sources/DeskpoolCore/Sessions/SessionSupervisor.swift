public import Foundation

/// Decides, from the desktops in session and their pools' session policies, which sessions
/// end now and which users are warned, with no I/O.
public struct SessionSupervisor: Sendable {
    public enum Action: Sendable, Hashable {
        /// End the session with the pool's logoff action.
        case logoff(Desktop, reason: String)
        /// Show the user a warning on their desktop.
        case warn(Desktop, message: String)
    }

    public init() {}

    /// - Parameter warned: sessions (ids) already warned; they are not warned again.
    public func review(_ desktops: [Desktop], pools: [String: PoolSpec], warned: Set<String>, now: Date) -> [Action] {
        var actions: [Action] = []
        for desktop in desktops where desktop.state.isInSession {
            guard let pool = pools[desktop.pool], let session = desktop.sessionID else { continue }
            let policy = pool.session
            let inState = now.timeIntervalSince(desktop.updatedAt)
            if desktop.state == .disconnected, policy.disconnectTimeoutSeconds > 0, inState >= Double(policy.disconnectTimeoutSeconds) {
                actions.append(.logoff(desktop, reason: "disconnected for more than \(policy.disconnectTimeoutSeconds) s"))
                continue
            }
            if desktop.state == .assigned, desktop.client == nil, policy.unconnectedTimeoutSeconds > 0,
               inState >= Double(policy.unconnectedTimeoutSeconds) {
                actions.append(.logoff(desktop, reason: "nobody connected within \(policy.unconnectedTimeoutSeconds) s"))
                continue
            }
            guard policy.maxSessionSeconds > 0, let started = desktop.sessionStartedAt else { continue }
            let age = now.timeIntervalSince(started)
            if age >= Double(policy.maxSessionSeconds) {
                actions.append(.logoff(desktop, reason: "the session reached its limit of \(policy.maxSessionSeconds) s"))
            } else if policy.warningSeconds > 0, age >= Double(policy.maxSessionSeconds - policy.warningSeconds), !warned.contains(session) {
                let left = Int((Double(policy.maxSessionSeconds) - age).rounded(.up))
                actions.append(.warn(desktop, message: "Deskpool: this session ends in \(Self.duration(left)). Save your work."))
            }
        }
        return actions
    }

    static func duration(_ seconds: Int) -> String {
        seconds >= 120 ? "\(seconds / 60) minutes" : "\(seconds) seconds"
    }
}
