import Foundation

/// The replicas' table: the floors, the storm through one broker on PostgreSQL and through the
/// replicas on one PostgreSQL, and the ratios against issue 17's targets.
struct ReplicaStormReport {
    let users: Int
    let concurrency: Int
    let replicas: Int
    let options: StormOptions
    let floors: [RunFigures]
    let single: LoginStorm.Storm
    let many: LoginStorm.Storm

    func print() {
        let out = { (line: String) in Swift.print(line) }
        out("Login storm through \(replicas) replicas: \(users) users (PAM accounts, service \(options.service)), concurrency \(concurrency), "
            + "maxConcurrentLogins \(options.maxConcurrentLogins) per broker; every broker in this process, each with its own PostgreSQL "
            + "connections and HTTP port; one test-driver host shared by the replicas")
        out("")
        out(row("run", "users/s", "p50 s", "p99 s", "mean s", "failures", "wall s", "CPU s"))
        for figures in floors + [single.figures, many.figures] {
            out(row(figures.label, f(figures.throughput, 1), f(figures.p50, 3), f(figures.p99, 3), f(figures.mean, 3), "\(figures.failures)",
                    f(figures.wall, 2), f(figures.cpu, 2)))
        }
        out("")
        let throughput = many.figures.throughput / single.figures.throughput
        let p99 = many.figures.p99 / single.figures.p99
        out(String(format: "replicas/single throughput: %.2f (target >= 0.90: %@)", throughput, throughput >= 0.9 ? "met" : "NOT met"))
        out(String(format: "replicas/single p99:        %.2f (target <= 1.50: %@)", p99, p99 <= 1.5 ? "met" : "NOT met"))
        let failures = single.figures.failures + many.figures.failures
        out("failures:                   \(failures) (target 0: \(failures == 0 ? "met" : "NOT met"))")
        for storm in [single, many] {
            if let failure = storm.figures.firstFailure { out("first failure (\(storm.figures.label)): \(failure)") }
            out("\(storm.figures.label): desktops in a session \(storm.held.desktops), held by \(storm.held.users) distinct users; answers "
                + storm.phases.answers.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", "))
            out(String(format: "  login p50 %.3f s p99 %.3f s (in PAM p50 %.3f s p99 %.3f s); desktop p50 %.3f s p99 %.3f s",
                       RunFigures.percentile(storm.phases.login, 0.5), RunFigures.percentile(storm.phases.login, 0.99),
                       RunFigures.percentile(storm.pam, 0.5), RunFigures.percentile(storm.pam, 0.99),
                       RunFigures.percentile(storm.phases.desktop, 0.5), RunFigures.percentile(storm.phases.desktop, 0.99)))
        }
    }

    private func f(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

    private func row(_ label: String, _ cells: String...) -> String {
        label.padding(toLength: 20, withPad: " ", startingAt: 0) + cells.map { String(repeating: " ", count: max(0, 12 - $0.count)) + $0 }.joined()
    }
}
