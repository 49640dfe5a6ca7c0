import DeskpoolCore

/// One line per `RolloutMachine.Action`, for the table tests of each kind's rule.
enum RolloutMachineSummary {
    static func line(_ action: RolloutMachine.Action) -> String {
        switch action {
        case .settle(let item, let status, let detail, let clear): "\(status.rawValue) \(item.desktop)\(clear ? " (unmark)" : ""): \(detail)"
        case .checkHealth(let item): "check \(item.desktop)"
        case .forceLogoff(let item): "logoff \(item.desktop)"
        case .nextWave(let wave): "wave \(wave)"
        case .halt(let reason): "halt: \(reason)"
        case .finish(let state): "finish \(state.rawValue)"
        case .refresh(let item, let version): "refresh \(item.desktop) v\(version)"
        case .markForLogoff(let item, let version, let warn): "mark \(item.desktop) v\(version)\(warn.map { " warn: \($0)" } ?? "")"
        case .begin(let item): "begin \(item.desktop)"
        case .switchPools: "switch pools"
        case .reconfigure(let item, let restart, let waitForLogoff, let warn):
            "reconfigure \(item.desktop)\(restart ? " restart" : "")\(waitForLogoff ? " at logoff" : "")\(warn.map { " warn: \($0)" } ?? "")"
        case .restart(let item): "restart \(item.desktop)"
        case .interrupt(let item): "interrupt \(item.desktop)"
        case .run(let item): "run \(item.desktop)"
        case .check(let item): "check \(item.desktop)"
        case .remediate: "remediate"
        }
    }
}
