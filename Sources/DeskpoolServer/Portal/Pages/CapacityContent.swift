import DeskpoolCore
import Foundation

/// A pool's desktops by state, for the stacked bar and its legend.
struct CapacityContent {
    struct Segment {
        var state: String
        var count: Int
        var x: String
        var width: String
    }

    var total: Int
    var ready: Int
    var saved: Int
    var assigned: Int
    var connected: Int
    var disconnected: Int
    var provisioning: Int
    var failed: Int
    /// The bar's full width: the pool's maximum, or more while it holds more.
    var limit: Int
    var segments: [Segment]

    init(_ capacity: PoolCapacity, max: Int) {
        total = capacity.total
        ready = capacity.ready
        saved = capacity.saved
        assigned = capacity.assigned
        connected = capacity.connected
        disconnected = capacity.disconnected
        provisioning = capacity.provisioning
        failed = capacity.failed
        limit = Swift.max(max, capacity.total)
        let counts = [("ready", capacity.ready), ("saved", capacity.saved), ("assigned", capacity.assigned), ("connected", capacity.connected),
                      ("disconnected", capacity.disconnected), ("provisioning", capacity.provisioning),
                      ("failed", capacity.failed), ("other", capacity.other)]
        let scale = 100 / Double(Swift.max(limit, 1))
        var x = 0.0
        segments = counts.filter { $0.1 > 0 }.map { state, count in
            let width = Double(count) * scale
            defer { x += width }
            return Segment(state: state, count: count, x: Self.number(x), width: Self.number(width))
        }
    }

    static func number(_ value: Double) -> String { String(format: "%.2f", value) }
}
