/// `kind: GuestCommandPolicy`: run one command in every selected desktop through its guest
/// agent, `concurrency` desktops at a time, each bounded by `timeoutSeconds`; every desktop's
/// exit code and output are recorded.
public struct GuestCommandPolicySpec: Sendable, Hashable {
    public var selector: PoolSelector
    public var command: GuestCommand
    public var concurrency: Int
    public var timeoutSeconds: Int
    /// Include desktops a user is in (default true: commands do not disturb sessions).
    public var includeInUse: Bool

    public init(selector: PoolSelector, command: GuestCommand, concurrency: Int = 4, timeoutSeconds: Int = 60, includeInUse: Bool = true) {
        self.selector = selector
        self.command = command
        self.concurrency = concurrency
        self.timeoutSeconds = timeoutSeconds
        self.includeInUse = includeInUse
    }
}
