import Synchronization

/// Open HTTP connections per client address, shared by all of the server's connections.
final class AddressConnectionCounter: Sendable {
    let limit: Int
    private let counts = Mutex<[String: Int]>([:])

    init(limit: Int) { self.limit = limit }

    /// Counts a new connection from `address`, or refuses it (false) at the limit.
    func open(_ address: String) -> Bool {
        counts.withLock { counts in
            let count = counts[address, default: 0]
            guard count < limit else { return false }
            counts[address] = count + 1
            return true
        }
    }

    func close(_ address: String) {
        counts.withLock { counts in
            let count = counts[address, default: 0] - 1
            counts[address] = count > 0 ? count : nil
        }
    }

    /// Open connections from `address` (for tests and metrics).
    func count(_ address: String) -> Int { counts.withLock { $0[address, default: 0] } }
}
