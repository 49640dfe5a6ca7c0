import DeskpoolCore
import Foundation

struct DesktopsContent {
    struct Pool {
        var poolName: String
        var poolState: String
        var ready: Bool
        var browser: Bool
        var hasDesktops: Bool
        var desktops: [Held]
    }

    struct Held {
        var id: String
        var desktopName: String
        var stateText: String
        var stateClass: String
        var canLogOff: Bool
    }

    var pools: [Pool]

    init(_ pools: [UserPoolView]) {
        self.pools = pools.map { pool in
            let state = pool.available > 0
                ? "\(pool.available) ready"
                : "none ready: about \(pool.estimateSeconds) s to prepare"
            let held = pool.desktops.map { desktop in
                let (text, style) = Self.describe(desktop.state, estimate: pool.estimateSeconds)
                return Held(id: desktop.id, desktopName: desktop.name, stateText: text, stateClass: style,
                            canLogOff: desktop.state.isInSession)
            }
            return Pool(poolName: pool.name, poolState: state, ready: pool.available > 0, browser: pool.browserConsole, hasDesktops: !held.isEmpty, desktops: held)
        }
    }

    /// A held desktop's state in a user's words, and its style.
    static func describe(_ state: DesktopState, estimate: Int) -> (String, String) {
        switch state {
        case .connected: ("in use", "inuse")
        case .assigned: ("ready", "ready")
        case .disconnected: ("ready (disconnected)", "disconnected")
        case .ready: ("ready", "ready")
        case .provisioning, .starting, .refreshing, .saving, .saved: ("preparing: about \(estimate) s", "preparing")
        case .restarting: ("restarting for an update", "preparing")
        case .off: ("off: starts when you connect", "off")
        case .stopping: ("shutting down", "stopping")
        case .deleting: ("being removed", "deleting")
        case .failed: ("failed: ask an administrator", "failed")
        }
    }
}
