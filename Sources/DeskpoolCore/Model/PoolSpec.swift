/// What an admin wants of a pool. Loaded from a pool file (`deskpool pools create FILE`, `PUT /api/v1/admin/pools/NAME`);
/// unknown keys, bad sizes and bad names are refused with the field named.
public struct PoolSpec: Sendable, Hashable, Codable {
    public enum Assignment: String, Sendable, Hashable, Codable, CaseIterable {
        /// A desktop per session, refreshed from the current version at logoff.
        case floating
        /// The user keeps their desktop across sessions.
        case dedicated
    }

    public enum VersionChoice: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The template's newest version at the time each desktop is cloned.
        case latest
        case pinned(Int)

        public var description: String {
            switch self {
            case .latest: "latest"
            case .pinned(let n): String(n)
            }
        }
    }

    public var name: String
    public var template: String
    public var version: VersionChoice = .latest
    public var assignment: Assignment = .floating
    /// Desktops that exist at least, assigned or not.
    public var min = 0
    /// Desktops that may exist at most; requests beyond it are told the pool is exhausted.
    public var max = 10
    /// Ready, running, unassigned desktops kept waiting for users (`spare: N`, or `spare:
    /// {running: N, saved: M}`); with `forecast`, what the forecast asks for instead.
    public var spare = 1
    /// Spares kept saved to the host's disk (libvirt managed save) rather than running: no
    /// memory or CPU while they wait, resumed in seconds when a user asks (`spare: {saved: M}`).
    public var savedSpare = 0
    /// `spare: auto`: the running spares follow the forecast of the pool's usage history
    /// (`forecast:` tunes it); nil: a fixed `spare`.
    public var forecast: SpareForecastSettings?
    public var naming: NamePattern
    /// PAM users entitled to the pool.
    public var users: [String] = []
    /// PAM groups whose members are entitled.
    public var groups: [String] = []
    public var maxPerUser = 1
    /// Hosts (names from `etc/deskpool.yaml`) the pool may use; empty means all.
    public var hosts: [String] = []
    /// Console tickets, takeover, gateway and what the `.vv` file allows.
    public var console = ConsoleSettings()
    /// Disconnect timeout, logoff action, session limits.
    public var session = SessionSettings()
    /// Overrides of the template's hardware (vCPUs, memory, console devices).
    public var desktop = DesktopSettings()
    /// Free-form labels policies select pools by (`selector.labels`).
    public var labels: [String: String] = [:]
    /// What makes each desktop its own machine inside (templates with `identity.seed:
    /// nocloud`); nil: the defaults (host name = the desktop's name).
    public var identity: IdentitySettings?
    /// A PAM service users must pass, besides their login, before they get a desktop of the pool
    /// (a second factor for an admin or external pool); nil: the login is enough.
    public var factor: String?
    /// Sizes by time of day: entries (days, a window, a time zone) with their own `min`,
    /// `spare` and `max`; outside them the pool's own hold (`scheduled(at:)`).
    public var schedule: [ScheduleEntry] = []
    /// Bumped by the store each time the spec changes.
    public var generation = 1
    /// Being deleted (`DELETE /api/v1/admin/pools/NAME`): no new sessions, idle desktops go
    /// now and the others at logoff; the store removes the pool once it has no desktops.
    /// Kept by the store, not part of a pool file.
    public var draining = false

    public init(name: String, template: String, version: VersionChoice = .latest, assignment: Assignment = .floating,
                min: Int = 0, max: Int = 10, spare: Int = 1, naming: NamePattern? = nil, users: [String] = [],
                groups: [String] = [], maxPerUser: Int = 1, hosts: [String] = [], console: ConsoleSettings = ConsoleSettings(),
                session: SessionSettings = SessionSettings(), desktop: DesktopSettings = DesktopSettings(), labels: [String: String] = [:],
                generation: Int = 1) {
        self.name = name
        self.template = template
        self.version = version
        self.assignment = assignment
        self.min = min
        self.max = max
        self.spare = spare
        self.naming = naming ?? NamePattern("\(name)-{n:03}") ?? NamePattern("desktop-{n:03}")!
        self.users = users
        self.groups = groups
        self.maxPerUser = maxPerUser
        self.hosts = hosts
        self.console = console
        self.session = session
        self.desktop = desktop
        self.labels = labels
        self.generation = generation
    }

    /// The most desktops one pool may have (a typo of a few digits must not start thousands).
    public static let maxDesktops = 10_000

    /// Whether a user (with their groups) may use the pool.
    public func entitles(user: String, groups userGroups: [String]) -> Bool {
        users.contains(user) || userGroups.contains { groups.contains($0) }
    }

    /// Checks that need no store: sizes and their relations. Throws naming the field.
    public func validate() throws(DeskpoolError) {
        guard DeskpoolConfiguration.isSafeName(name) else { throw DeskpoolError(.invalidInput, "must be letters, digits, '.', '_' or '-' (at most 64)", field: "name") }
        guard DeskpoolConfiguration.isSafeName(template) else { throw DeskpoolError(.invalidInput, "must be a template name", field: "template") }
        if case .pinned(let n) = version, n < 1 { throw DeskpoolError(.invalidInput, "must be latest or a version number from 1", field: "version") }
        guard min >= 0 else { throw DeskpoolError(.invalidInput, "must not be negative", field: "min") }
        guard max >= 1, max <= Self.maxDesktops else { throw DeskpoolError(.invalidInput, "must be between 1 and \(Self.maxDesktops)", field: "max") }
        guard spare >= 0 else { throw DeskpoolError(.invalidInput, "must not be negative", field: "spare") }
        guard min <= max else { throw DeskpoolError(.invalidInput, "min (\(min)) must not exceed max (\(max))", field: "min") }
        guard spare <= max else { throw DeskpoolError(.invalidInput, "spare (\(spare)) must not exceed max (\(max))", field: "spare") }
        // Subtracted, not added: a huge number must be refused, not overflow (spare <= max here).
        guard savedSpare >= 0, savedSpare <= max - spare else {
            throw DeskpoolError(.invalidInput, "running and saved spares (\(spare) + \(savedSpare)) must not exceed max (\(max))", field: "spare")
        }
        guard maxPerUser >= 1, maxPerUser <= 100 else { throw DeskpoolError(.invalidInput, "must be between 1 and 100", field: "maxPerUser") }
        if assignment == .floating, let action = session.logoffAction, action != .refresh {
            throw DeskpoolError(.invalidInput, "a floating pool's desktops are refreshed at logoff; \(action.rawValue) is for dedicated pools", field: "session")
        }
        for (key, value) in labels where !DeskpoolConfiguration.isSafeName(key) || !DeskpoolConfiguration.isSafeName(value) {
            throw DeskpoolError(.invalidInput, "label '\(key)' must be a name and value of letters, digits, '.', '_' or '-'", field: "labels")
        }
        try identity?.validate()
        try validateSchedule()
        if let factor, !DeskpoolConfiguration.isSafeName(factor) {
            throw DeskpoolError(.invalidInput, "must be a PAM service name (a file name in /etc/pam.d: letters, digits, '.', '_' or '-')", field: "factor")
        }
        for (field, names) in [("users", users), ("groups", groups), ("hosts", hosts)] {
            if let bad = names.first(where: { !DeskpoolConfiguration.isSafeName($0) }) {
                throw DeskpoolError(.invalidInput, "'\(bad)' is not a valid name", field: field)
            }
        }
    }
}

// MARK: - Decoding a pool file

extension PoolSpec {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, template, version, assignment, min, max, spare, naming, users, groups, maxPerUser, hosts, console, session, desktop, labels, generation
        case identity, factor, schedule, forecast
    }

    /// `spare:` as a pool file writes it: `N`, `auto`, or `{running: N|auto, saved: M}`.
    struct SpareValue: Decodable {
        var running: Int?  // nil: auto
        var saved = 0

        enum Keys: String, CodingKey, CaseIterable { case running, saved }

        init(from decoder: any Decoder) throws {
            if let single = try? decoder.singleValueContainer() {
                if let count = try? single.decode(Int.self) {
                    guard count >= 0 else { throw decoder.invalid("spare must not be negative, not \(count)") }
                    running = count
                    return
                }
                if let text = try? single.decode(String.self) {
                    guard text == "auto" else { throw decoder.invalid("spare must be a number, auto, or {running: N|auto, saved: M}, not '\(text)'") }
                    return
                }
            }
            try decoder.rejectUnknownKeys(Keys.self, in: "spare")
            let c = try decoder.container(keyedBy: Keys.self)
            if (try? c.decodeIfPresent(String.self, forKey: .running)) == "auto" {
                running = nil
            } else if let count = try c.decodeIfPresent(Int.self, forKey: .running) {
                guard count >= 0 else { throw try c.superDecoder(forKey: .running).invalid("running must not be negative, not \(count)") }
                running = count
            } else {
                running = 0
            }
            if let count = try c.decodeIfPresent(Int.self, forKey: .saved) {
                guard count >= 0 else { throw try c.superDecoder(forKey: .saved).invalid("saved must not be negative, not \(count)") }
                saved = count
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "the pool")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        template = try c.decode(String.self, forKey: .template)
        naming = try c.decodeIfPresent(NamePattern.self, forKey: .naming) ?? NamePattern("\(name)-{n:03}") ?? NamePattern("desktop-{n:03}")!
        if let text = try c.decodeIfPresent(String.self, forKey: .version) {
            if text == "latest" { version = .latest }
            else if let n = Int(text), n >= 1 { version = .pinned(n) }
            else { throw try c.superDecoder(forKey: .version).invalid("version must be latest or a version number from 1, not '\(text)'") }
        }
        if let text = try c.decodeIfPresent(String.self, forKey: .assignment) {
            guard let value = Assignment(rawValue: text) else {
                throw try c.superDecoder(forKey: .assignment).invalid("assignment must be floating or dedicated, not '\(text)'")
            }
            assignment = value
        }
        if let value = try c.decodeIfPresent(SpareValue.self, forKey: .spare) {
            spare = value.running ?? 0
            savedSpare = value.saved
            if value.running == nil { forecast = SpareForecastSettings() }
        }
        if let settings = try c.decodeIfPresent(SpareForecastSettings.self, forKey: .forecast) {
            guard forecast != nil else { throw try c.superDecoder(forKey: .forecast).invalid("forecast is for a pool with spare: auto") }
            forecast = settings
        }
        for (key, path) in [(CodingKeys.min, \PoolSpec.min), (.max, \.max), (.maxPerUser, \.maxPerUser)] {
            if let value = try c.decodeIfPresent(Int.self, forKey: key) {
                guard value >= 0 else { throw try c.superDecoder(forKey: key).invalid("\(key.stringValue) must not be negative, not \(value)") }
                self[keyPath: path] = value
            }
        }
        users = try c.decodeIfPresent([String].self, forKey: .users) ?? []
        groups = try c.decodeIfPresent([String].self, forKey: .groups) ?? []
        hosts = try c.decodeIfPresent([String].self, forKey: .hosts) ?? []
        console = try c.decodeIfPresent(ConsoleSettings.self, forKey: .console) ?? ConsoleSettings()
        session = try c.decodeIfPresent(SessionSettings.self, forKey: .session) ?? SessionSettings()
        desktop = try c.decodeIfPresent(DesktopSettings.self, forKey: .desktop) ?? DesktopSettings()
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        generation = try c.decodeIfPresent(Int.self, forKey: .generation) ?? 1
        identity = try c.decodeIfPresent(IdentitySettings.self, forKey: .identity)
        factor = try c.decodeIfPresent(String.self, forKey: .factor)
        schedule = try c.decodeIfPresent([ScheduleEntry].self, forKey: .schedule) ?? []
        do {
            try validate()
        } catch {
            let key = error.field.flatMap { CodingKeys(stringValue: String($0.split(separator: ".").first ?? "")) }
            let mark = key.flatMap { try? c.superDecoder(forKey: $0).mark }
            throw ConfigurationError(code: .invalidValue, line: mark?.line, column: mark?.column, message: error.description)
        }
    }

    /// Reads a pool file.
    public static func load(file: String) throws(ConfigurationError) -> PoolSpec {
        try YAMLConfigDecoder.decode(PoolSpec.self, file: file)
    }
}

extension PoolSpec {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(template, forKey: .template)
        try c.encode(version.description, forKey: .version)
        try c.encode(assignment.rawValue, forKey: .assignment)
        try c.encode(min, forKey: .min)
        try c.encode(max, forKey: .max)
        if savedSpare == 0, forecast == nil {
            try c.encode(spare, forKey: .spare)
        } else {
            var nested = c.nestedContainer(keyedBy: SpareValue.Keys.self, forKey: .spare)
            if forecast == nil { try nested.encode(spare, forKey: .running) } else { try nested.encode("auto", forKey: .running) }
            try nested.encode(savedSpare, forKey: .saved)
        }
        try c.encodeIfPresent(forecast, forKey: .forecast)
        try c.encode(naming, forKey: .naming)
        try c.encode(users, forKey: .users)
        try c.encode(groups, forKey: .groups)
        try c.encode(maxPerUser, forKey: .maxPerUser)
        try c.encode(hosts, forKey: .hosts)
        try c.encode(console, forKey: .console)
        try c.encode(session, forKey: .session)
        try c.encode(desktop, forKey: .desktop)
        try c.encode(labels, forKey: .labels)
        try c.encode(generation, forKey: .generation)
        try c.encodeIfPresent(identity, forKey: .identity)
        try c.encodeIfPresent(factor, forKey: .factor)
        if !schedule.isEmpty { try c.encode(schedule, forKey: .schedule) }
    }
}

extension PoolSpec {
    /// The version new desktops of this pool are cloned from, among a template's versions, or
    /// why there is none.
    public func currentVersion(among versions: [TemplateVersion]) -> Result<TemplateVersion, DeskpoolError> {
        let published = versions.filter { $0.template == template && $0.published }
        switch version {
        case .latest:
            guard let newest = published.max(by: { $0.number < $1.number }) else {
                return .failure(DeskpoolError(.notFound, "template \(template) has no published version", field: "version"))
            }
            return .success(newest)
        case .pinned(let number):
            guard let pinned = published.first(where: { $0.number == number }) else {
                return .failure(DeskpoolError(.notFound, "template \(template) has no published version \(number)", field: "version"))
            }
            return .success(pinned)
        }
    }
}
