import DeskpoolCore
import Foundation

/// Runs `/readyz`'s checks: a write to the store and a capacity query to every host, each
/// bounded in time, at most one round at a time and reused for `reuse` seconds, so that any
/// number of anonymous calls cost the store and the hosts at most one probe a second.
actor ReadinessProbe {
    let services: BrokerServices
    let reuse: TimeInterval
    let timeout: Duration
    private var last: (at: Date, readiness: Readiness)?
    private var running: Task<Readiness, Never>?

    init(services: BrokerServices, reuse: TimeInterval = 1, timeout: Duration = .seconds(2)) {
        self.services = services
        self.reuse = reuse
        self.timeout = timeout
    }

    func check() async -> Readiness {
        if let last, services.now().timeIntervalSince(last.at) < reuse { return last.readiness }
        if let running { return await running.value }
        let task = Task { await Self.run(services, timeout: timeout) }
        running = task
        let readiness = await task.value
        // Actors are reentrant: other calls waited on the same task meanwhile.
        running = nil
        last = (services.now(), readiness)
        return readiness
    }

    private static func run(_ services: BrokerServices, timeout: Duration) async -> Readiness {
        let now = services.now()
        let store = await abandonable(within: timeout) { () async -> Readiness.Dependency in
            do throws(DeskpoolError) {
                try await services.broker.probeStore(at: now)
                return Readiness.Dependency(name: "store", ok: true)
            } catch {
                return Readiness.Dependency(name: "store", ok: false, detail: "\(error.code): the store does not take writes")
            }
        } ?? Readiness.Dependency(name: "store", ok: false, detail: "the store did not answer within \(timeout)")
        var hosts: [Readiness.Dependency] = []
        for host in services.hosts.configured {
            guard let hypervisor = services.hosts[host.name] else {
                hosts.append(Readiness.Dependency(name: host.name, ok: false, detail: "not connected"))
                continue
            }
            let status = hypervisor.status
            guard status.isConnected else {
                // No call to a host that is away: its link knows, and retries by itself.
                hosts.append(Readiness.Dependency(name: host.name, ok: false,
                                                  detail: "\(status.state.rawValue): not connected; the broker reconnects by itself"))
                continue
            }
            let dependency = await abandonable(within: timeout) { () async -> Readiness.Dependency in
                do throws(DeskpoolError) {
                    _ = try await hypervisor.capacity()
                    return Readiness.Dependency(name: host.name, ok: true,
                                                detail: status.inService ? nil : "recovering: connected again, its recovery pass runs")
                } catch {
                    return Readiness.Dependency(name: host.name, ok: false, detail: "does not answer: \(error.code)")
                }
            }
            hosts.append(dependency ?? Readiness.Dependency(name: host.name, ok: false, detail: "did not answer within \(timeout)"))
        }
        return Readiness(store: store, hosts: hosts)
    }
}
