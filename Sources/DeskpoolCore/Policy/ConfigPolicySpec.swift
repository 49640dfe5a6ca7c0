/// `kind: ConfigPolicy`: settings for the selected pools and their desktops. Only the keys a
/// policy names change; everything else of each pool stays as it is.
public struct ConfigPolicySpec: Sendable, Hashable {
    public var selector: PoolSelector
    /// `set.desktop`: hardware (vCPUs, memory, console devices).
    public var desktop: DesktopSettings
    /// `set.console`: the keys given, of a pool's `console:` section.
    public var console: Patch<ConsoleSettings>?
    /// `set.session`: the keys given, of a pool's `session:` section.
    public var session: Patch<SessionSettings>?
    /// `set.sizes`: min, max, spare, saved.
    public var sizes: PoolSizes?
    /// `set.schedule`: the pools' schedule entries, replaced whole (`[]` removes them).
    public var schedule: [ScheduleEntry]?
    /// How desktops in use are treated when a change needs a restart or refresh.
    public var logoff: LogoffMode
    /// Waves, unavailability and window for the desktops that must restart.
    public var strategy: RolloutStrategy

    public init(selector: PoolSelector, desktop: DesktopSettings = DesktopSettings(), console: Patch<ConsoleSettings>? = nil,
                session: Patch<SessionSettings>? = nil, sizes: PoolSizes? = nil, schedule: [ScheduleEntry]? = nil, logoff: LogoffMode = .waitForLogoff,
                strategy: RolloutStrategy = RolloutStrategy()) {
        self.selector = selector
        self.desktop = desktop
        self.console = console
        self.session = session
        self.sizes = sizes
        self.schedule = schedule
        self.logoff = logoff
        self.strategy = strategy
    }
}

/// `set.sizes` of a ConfigPolicy; nil keeps the pool's value.
public struct PoolSizes: Sendable, Hashable {
    public var min: Int?
    public var max: Int?
    /// Running spares (a pool with `spare: auto` keeps its forecast unless this is given).
    public var spare: Int?
    /// Spares saved to disk.
    public var saved: Int?

    public init(min: Int? = nil, max: Int? = nil, spare: Int? = nil, saved: Int? = nil) {
        self.min = min
        self.max = max
        self.spare = spare
        self.saved = saved
    }
}
