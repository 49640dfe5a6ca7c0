/// `spec:` of a ConfigPolicy:
///
/// ```yaml
/// spec:
///   selector: {pools: [demo]}
///   set:
///     desktop: {memoryMiB: 1024}          # the keys of a pool's desktop: section
///     console: {ticketSeconds: 20}        # any keys of a pool's console: section
///     session: {disconnectTimeoutSeconds: 600}
///     sizes: {min: 1, max: 8, spare: 2, saved: 2}
///     schedule:                            # replaces the pools' schedules ([] removes them)
///       - {days: [mon, tue, wed, thu, fri], from: "07:30", to: "18:00", timezone: Europe/Berlin, spare: 4}
///   logoff: {mode: waitForLogoff}
///   strategy: {canary: 1, waveSize: 25%}
/// ```
extension ConfigPolicySpec: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case selector, set, logoff, strategy
    }

    enum SetKeys: String, CodingKey, CaseIterable {
        case desktop, console, session, sizes, schedule
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "spec of a ConfigPolicy")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let selector = try c.decodeSelector(.selector, in: decoder)
        guard c.contains(.set) else { throw decoder.invalid("spec.set is required: the settings the policy changes") }
        let setDecoder = try c.superDecoder(forKey: .set)
        try setDecoder.rejectUnknownKeys(SetKeys.self, in: "set")
        let set = try setDecoder.container(keyedBy: SetKeys.self)
        let desktop = try set.decodeIfPresent(DesktopSettings.self, forKey: .desktop) ?? DesktopSettings()
        let console = try set.decodeIfPresent(Patch<ConsoleSettings>.self, forKey: .console)
        let session = try set.decodeIfPresent(Patch<SessionSettings>.self, forKey: .session)
        let sizes = try set.decodeIfPresent(PoolSizes.self, forKey: .sizes)
        let schedule = try set.decodeIfPresent([ScheduleEntry].self, forKey: .schedule)
        for (key, empty) in [(SetKeys.desktop, set.contains(.desktop) && desktop == DesktopSettings()),
                             (.console, console?.keys.isEmpty == true), (.session, session?.keys.isEmpty == true),
                             (.sizes, sizes == PoolSizes())] where empty {
            throw try set.superDecoder(forKey: key).invalid("set.\(key.stringValue) names no setting; give one or leave the section out")
        }
        try setDecoder.require(
            desktop != DesktopSettings() || console != nil || session != nil || sizes != nil || schedule != nil,
            "set changes nothing: give desktop, console, session, sizes or schedule settings")
        self.init(selector: selector, desktop: desktop, console: console, session: session, sizes: sizes, schedule: schedule,
                  logoff: try c.decodeIfPresent(LogoffMode.self, forKey: .logoff) ?? .waitForLogoff,
                  strategy: try c.decodeIfPresent(RolloutStrategy.self, forKey: .strategy) ?? RolloutStrategy())
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(selector, forKey: .selector)
        var set = c.nestedContainer(keyedBy: SetKeys.self, forKey: .set)
        if desktop != DesktopSettings() { try set.encode(desktop, forKey: .desktop) }
        try set.encodeIfPresent(console, forKey: .console)
        try set.encodeIfPresent(session, forKey: .session)
        try set.encodeIfPresent(sizes, forKey: .sizes)
        try set.encodeIfPresent(schedule, forKey: .schedule)
        try c.encode(logoff, forKey: .logoff)
        try c.encode(strategy, forKey: .strategy)
    }
}

/// `set.sizes`: each of min, max and spare is optional; given ones must fit together.
extension PoolSizes: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case min, max, spare, saved
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "sizes")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(min: try c.decodeBounded(.min, 0...PoolSpec.maxDesktops),
                  max: try c.decodeBounded(.max, 1...PoolSpec.maxDesktops),
                  spare: try c.decodeBounded(.spare, 0...PoolSpec.maxDesktops),
                  saved: try c.decodeBounded(.saved, 0...PoolSpec.maxDesktops))
        if let min, let max, min > max {
            throw try c.superDecoder(forKey: .min).invalid("sizes.min (\(min)) must not exceed sizes.max (\(max))")
        }
        if let spare, let max, spare > max {
            throw try c.superDecoder(forKey: .spare).invalid("sizes.spare (\(spare)) must not exceed sizes.max (\(max))")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(min, forKey: .min)
        try c.encodeIfPresent(max, forKey: .max)
        try c.encodeIfPresent(spare, forKey: .spare)
        try c.encodeIfPresent(saved, forKey: .saved)
    }
}
