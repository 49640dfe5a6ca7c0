/// What a row of the report shows: a measured run, or the mean of the floors.
protocol StormFigures {
    var label: String { get }
    var throughput: Double { get }
    var p50: Double { get }
    var p99: Double { get }
    var mean: Double { get }
    var failures: Int { get }
    var wall: Double { get }
    var cpu: Double { get }
    var count: Int { get }
}

extension RunFigures: StormFigures {}
