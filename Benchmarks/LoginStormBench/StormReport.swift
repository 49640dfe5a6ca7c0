import Foundation

/// The table: both floors, their mean, the storm, the ratios against the targets, and where
/// the storm's time went.
struct StormReport {
    let users: Int
    let concurrency: Int
    let options: StormOptions
    let floors: [RunFigures]
    let storm: RunFigures
    let phases: StormClients.Phases
    let pamInStorm: [Double]
    let tickets: (count: Int, mean: Double, max: Double)
    let held: (desktops: Int, users: Int)

    func print() {
        let out = { (line: String) in Swift.print(line) }
        out("Login storm: \(users) users (PAM accounts, service \(options.service)), concurrency \(concurrency), "
            + "maxConcurrentLogins \(options.maxConcurrentLogins), login timeout \(options.loginTimeoutSeconds) s")
        if options.consoleURI == "none" {
            out("console tickets: NOT set live (no stand-in SPICE displays; the test driver cannot update a device)")
        } else {
            out("console tickets: set live on \(options.consoleDomains.count) qemu SPICE stand-in displays on \(options.consoleURI) "
                + "(the desktops themselves are on libvirt's test driver, which cannot)")
        }
        out("")
        out(row("run", "users/s", "p50 s", "p99 s", "mean s", "failures", "wall s", "CPU s", "CPU ms/user"))
        let floorMean = mean(floors)
        let rows: [any StormFigures] = floors.map { $0 as any StormFigures } + [floorMean, storm]
        for figures in rows {
            out(row(figures.label, f(figures.throughput, 1), f(figures.p50, 3), f(figures.p99, 3), f(figures.mean, 3), "\(figures.failures)",
                    f(figures.wall, 2), f(figures.cpu, 2), f(figures.cpu * 1000 / Double(max(1, figures.count)), 1)))
        }
        out("")
        let throughputRatio = storm.throughput / floorMean.throughput
        let p99Ratio = storm.p99 / floorMean.p99
        out(String(format: "storm/floor throughput: %.2f (target >= 0.80: %@)", throughputRatio, throughputRatio >= 0.8 ? "met" : "NOT met"))
        out(String(format: "storm/floor p99:        %.2f (target <= 2.00: %@)", p99Ratio, p99Ratio <= 2.0 ? "met" : "NOT met"))
        out("storm failures:         \(storm.failures) (target 0: \(storm.failures == 0 ? "met" : "NOT met"))")
        let spread = abs(floors[0].throughput - floors[1].throughput) / floorMean.throughput
        out(String(format: "floor drift (before vs after): throughput %.1f%%, p99 %.3f s vs %.3f s", spread * 100, floors[0].p99, floors[1].p99))
        if let failure = storm.firstFailure { out("first storm failure: \(failure)") }
        for floor in floors { if let failure = floor.firstFailure { out("first failure (\(floor.label)): \(failure)") } }
        out("")
        out("where the storm's time went (per user):")
        out(String(format: "  login request (HTTP + PAM):   p50 %.3f s  p99 %.3f s", RunFigures.percentile(phases.login, 0.5), RunFigures.percentile(phases.login, 0.99)))
        out(String(format: "    of which in PAMLogin:       p50 %.3f s  p99 %.3f s  (waiting for a PAM thread included)",
                   RunFigures.percentile(pamInStorm, 0.5), RunFigures.percentile(pamInStorm, 0.99)))
        out(String(format: "  desktop request (.vv):        p50 %.3f s  p99 %.3f s", RunFigures.percentile(phases.desktop, 0.5), RunFigures.percentile(phases.desktop, 0.99)))
        if tickets.count > 0 {
            out(String(format: "    of which the live ticket update: mean %.1f ms, max %.1f ms over %d updates", tickets.mean * 1000, tickets.max * 1000, tickets.count))
        }
        out("  answers: " + phases.answers.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", "))
        out("  desktops in a session after the storm: \(held.desktops), held by \(held.users) distinct users")
    }

    private func mean(_ runs: [RunFigures]) -> MeanFigures {
        MeanFigures(label: "PAM floor, mean", throughput: runs.map(\.throughput).reduce(0, +) / Double(runs.count),
                    p50: runs.map(\.p50).reduce(0, +) / Double(runs.count), p99: runs.map(\.p99).reduce(0, +) / Double(runs.count),
                    mean: runs.map(\.mean).reduce(0, +) / Double(runs.count), failures: runs.map(\.failures).reduce(0, +),
                    wall: runs.map(\.wall).reduce(0, +) / Double(runs.count), cpu: runs.map(\.cpu).reduce(0, +) / Double(runs.count),
                    count: runs.map(\.count).reduce(0, +) / runs.count)
    }

    private func f(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

    private func row(_ label: String, _ cells: String...) -> String {
        label.padding(toLength: 20, withPad: " ", startingAt: 0) + cells.map { String(repeating: " ", count: max(0, 12 - $0.count)) + $0 }.joined()
    }
}

/// Figures of several runs averaged (the two floors).
struct MeanFigures: StormFigures {
    var label: String
    var throughput: Double
    var p50: Double
    var p99: Double
    var mean: Double
    var failures: Int
    var wall: Double
    var cpu: Double
    var count: Int
}
