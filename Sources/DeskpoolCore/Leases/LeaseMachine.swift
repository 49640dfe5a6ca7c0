/// Decides, from the store's leases, which leases a replica renews, takes and gives up: a pure
/// function, table-tested. The replica's own heartbeat lease (`replica/ID`) is always kept; it
/// tells the others how many replicas share the work. Each replica aims at its fair share of
/// the work leases (hosts, pools, rollouts): it takes free ones (never held, or expired)
/// while under its share, and gives up its surplus when replicas join, so the work spreads.
public enum LeaseMachine {
    public struct Input: Sendable {
        /// This replica.
        public var replica: String
        /// The work leases there are (one per configured host, pools, rollouts).
        public var work: [Lease.Work]
        /// The store's leases, as last read.
        public var leases: [Lease]
        /// The leases this replica holds now, by name, with their generation.
        public var held: [String: Int64]

        public init(replica: String, work: [Lease.Work], leases: [Lease], held: [String: Int64]) {
            self.replica = replica
            self.work = work
            self.leases = leases
            self.held = held
        }
    }

    public enum Action: Sendable, Hashable {
        /// Extend a lease this replica holds (at this generation).
        case renew(String, generation: Int64)
        /// Take a free lease.
        case take(String)
        /// Give a lease up (stop acting first, then release it in the store).
        case release(String, generation: Int64)
        /// Another replica holds what this one thought it held: stop acting on it.
        case forget(String)
    }

    public static func decide(_ input: Input) -> [Action] {
        let byName = Dictionary(input.leases.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var actions: [Action] = []
        var held = input.held
        // Lost: the store shows another holder or another generation.
        for (name, generation) in input.held.sorted(by: { $0.key < $1.key }) {
            if let lease = byName[name], lease.holder != input.replica || lease.generation != generation {
                actions.append(.forget(name))
                held[name] = nil
            }
        }
        let heartbeat = Lease.Work.replica(input.replica).description
        let replicas = Set(input.leases.filter { $0.live && $0.name.hasPrefix("replica/") }.map(\.holder)).union([input.replica])
        let work = input.work.map(\.description)
        let share = (work.count + replicas.count - 1) / replicas.count
        let mine = work.filter { held[$0] != nil }
        // Whether each other replica is under its share: only then is surplus given up (a
        // replica that already has its share would not take it, and the work would wait).
        let others = replicas.subtracting([input.replica])
        let othersUnder = others.contains { other in work.filter { byName[$0]?.live == true && byName[$0]?.holder == other }.count < share }
        let surplus = othersUnder ? Set(mine.sorted().suffix(max(0, mine.count - share))) : []
        if let generation = held[heartbeat] { actions.append(.renew(heartbeat, generation: generation)) } else { actions.append(.take(heartbeat)) }
        for name in mine {
            if surplus.contains(name) { actions.append(.release(name, generation: held[name]!)) } else { actions.append(.renew(name, generation: held[name]!)) }
        }
        var count = mine.count - surplus.count
        for name in work where held[name] == nil && count < share {
            let lease = byName[name]
            if lease == nil || lease?.live == false {
                actions.append(.take(name))
                count += 1
            }
        }
        return actions
    }
}
