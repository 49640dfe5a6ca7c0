import DeskpoolCore
import Foundation

struct PoolsContent {
    struct Row {
        var poolName: String
        var template: String
        var version: String
        var assignment: String
        var min: Int
        var max: Int
        var spare: String
        var draining: Bool
        var capacity: CapacityContent
    }

    var pools: [Row]
    var hasPools: Bool

    init(_ pools: [PoolSpec], desktops: [Desktop]) {
        self.pools = pools.map { pool in
            Row(poolName: pool.name, template: pool.template, version: pool.version.description, assignment: pool.assignment.rawValue,
                min: pool.min, max: pool.max, spare: pool.sparesText, draining: pool.draining,
                capacity: CapacityContent(PoolCapacity(desktops.filter { $0.pool == pool.name }), max: pool.max))
        }
        hasPools = !pools.isEmpty
    }
}
