extension Rollout {
    /// What an admin can do to a rollout once it runs, and from which states: the one list
    /// `PolicyRollouts` enforces and the portal asks before it offers a button.
    public enum Action: String, Sendable, Hashable, CaseIterable {
        case pause, resume, cancel, rollback

        /// The states the action is allowed from; any other is a conflict.
        public var allowedFrom: Set<State> {
            switch self {
            case .pause: [.running]
            case .resume: [.paused, .halted]
            case .cancel: [.running, .paused, .halted]
            case .rollback: [.running, .paused, .halted, .cancelled, .completed]
            }
        }

        /// The state the rollout moves to.
        public var target: State {
            switch self {
            case .pause: .paused
            case .resume: .running
            case .cancel: .cancelled
            case .rollback: .rollingBack
            }
        }
    }

    /// Whether `action` is allowed in the rollout's state now.
    public func allows(_ action: Action) -> Bool { action.allowedFrom.contains(state) }
}
