import BenchSupport
import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import Foundation
import Libvirt

/// Time to desktop (issue 21): N users arrive at once on a pool with (a) N running spares,
/// (b) N spares saved to disk, (c) no spares, one case after the other on the same host, each
/// through `SessionBroker.request` and the reconciler as `deskpool serve` runs them (no HTTP).
/// A user's time runs from the request to their desktop being theirs and running (`assigned`).
/// Before the cases, one desktop boots alone: the boot time of a fresh desktop. For (a) and
/// (b) the idle spares' cost is measured too: the resident memory and CPU of their qemu
/// processes over `--idle` seconds, and the size of the saved spares' memory images.
struct TimeToDesktopBench {
    let host: BenchHost
    let users: Int
    let idleSeconds: Int
    static let instance = "bench-ttd"

    init(_ arguments: Arguments) {
        host = BenchHost(arguments)
        users = arguments.int("users", 4)
        idleSeconds = arguments.int("idle", 10)
    }

    enum Case: String, CaseIterable {
        case running, saved, none
    }

    func run() async throws {
        let store = try SQLiteStore(path: host.stateDirectory + "/deskpool.sqlite")
        let connection = try await Connection.open(host.uri)
        let libvirt = LibvirtHypervisor(host: "local", connection: connection, storagePool: host.storagePool,
                                        domainType: host.domainType, instance: Self.instance)
        var configuration = BrokerConfiguration()
        configuration.instance = Self.instance
        configuration.sweepIntervalSeconds = 1
        configuration.orphanGraceSeconds = 86_400  // the bench removes what it made itself
        let broker = Broker(store: store, hosts: Hosts([libvirt], configurations: [HostConfiguration(name: "local", uri: host.uri)]),
                            configuration: Broker.Configuration(reconciler: .init(broker: configuration, hostLimits: ["local": 8],
                                                                                  probeInterval: .milliseconds(200))),
                            logger: { benchLogger($0) })
        var template = try TemplateDefinition.load(directory: host.templateDirectory)
        template.bootTimeoutSeconds = max(template.bootTimeoutSeconds, 1800)
        try await broker.admin.applyTemplate(template, actor: "bench")
        let version = try await broker.admin.publishVersion(template: template.name, from: .file(host.image), note: "bench", actor: "bench")
        sync()
        var failure: (any Error)?
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for service in broker.services { group.addTask { try await service.run() } }
                defer { group.cancelAll() }
                try await measure(broker, store: store, template: template.name)
            }
        } catch {
            failure = error
        }
        for desktop in (try? await store.desktops(pool: nil)) ?? [] {
            try? await libvirt.destroyDesktop(named: desktop.name, volume: desktop.volumeName)
        }
        try? await libvirt.deleteVolume(named: version.volume)
        await connection.close()
        if let failure { throw failure }
    }

    private func pool(_ name: String, template: String, running: Int, saved: Int) -> PoolSpec {
        var spec = PoolSpec(name: name, template: template, max: max(1, users), spare: running, naming: NamePattern("dpt-\(name)-{n:02}"),
                            users: (1...users).map { "user\($0)" })
        spec.savedSpare = saved
        return spec
    }

    private func measure(_ broker: Broker, store: SQLiteStore, template: String) async throws {
        // One fresh desktop booting alone.
        let boot = try await timed {
            _ = try await broker.admin.applyPool(pool("boot", template: template, running: 1, saved: 0), actor: "bench")
            try await waitUntil("the fresh desktop ready", store) { $0.filter { $0.pool == "boot" && $0.state == .ready }.count == 1 }
        }
        print(String(format: "boot_s=%.2f", boot))
        try await drain("boot", broker, store)

        for kind in Case.allCases {
            let name = kind.rawValue
            _ = try await broker.admin.applyPool(pool(name, template: template, running: kind == .running ? users : 0,
                                                      saved: kind == .saved ? users : 0), actor: "bench")
            switch kind {
            case .running:
                try await waitUntil("\(users) running spares", store) { $0.filter { $0.pool == name && $0.state == .ready }.count == users }
            case .saved:
                try await waitUntil("\(users) saved spares", store) { $0.filter { $0.pool == name && $0.state == .saved }.count == users }
            case .none:
                break
            }
            let spares = try await store.desktops(pool: name)
            if kind != .none {
                let cost = try await idleCost(spares.map(\.name))
                print(String(format: "%@_idle_rss_mib=%.1f %@_idle_cpu_pct=%.2f %@_saved_image_mib=%.1f",
                             name, cost.rssMiB, name, cost.cpuPercent, name, cost.savedImageMiB))
            }
            progress("\(name): \(users) users arrive at once")
            let times = try await withThrowingTaskGroup(of: Double.self) { group in
                for index in 1...users {
                    group.addTask {
                        try await timed {
                            let principal = SessionBroker.Principal(user: "user\(index)")
                            switch try await broker.sessions.request(principal, pool: name) {
                            case .assigned:
                                return
                            case .preparing(let desktop, _):
                                try await waitUntil("user\(index)'s desktop", store, poll: .milliseconds(100)) {
                                    $0.first { $0.id == desktop.id }?.state == .assigned
                                }
                            case .exhausted:
                                throw BenchFailure("user\(index): pool \(name) is exhausted")
                            }
                        }
                    }
                }
                var times: [Double] = []
                for try await time in group { times.append(time) }
                return times
            }
            print(String(format: "%@_p50_s=%.2f %@_p95_s=%.2f %@_max_s=%.2f", name, percentile(times, 0.5), name, percentile(times, 0.95),
                         name, times.max() ?? 0))
            try await drain(name, broker, store)
        }
    }

    /// Deletes the pool (its sessions ended) and waits until its desktops are gone.
    private func drain(_ name: String, _ broker: Broker, _ store: SQLiteStore) async throws {
        for desktop in try await store.desktops(pool: name) where desktop.state.isInSession {
            _ = try await broker.sessions.logoff(desktop: desktop.id, by: "bench")
        }
        _ = try await broker.admin.drainPool(named: name, actor: "bench")
        try await waitUntil("pool \(name) gone", store) { !$0.contains { $0.pool == name } }
    }

    /// Resident memory and CPU of the spares' qemu processes over `idleSeconds` (a saved
    /// spare has none), and the size of their managed save images.
    private func idleCost(_ names: [String]) async throws -> (rssMiB: Double, cpuPercent: Double, savedImageMiB: Double) {
        let pids = names.compactMap { name in
            (try? String(contentsOfFile: "/run/libvirt/qemu/\(name).pid", encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }.filter { FileManager.default.fileExists(atPath: "/proc/\($0)") }
        let before = pids.map(cpuTicks)
        let start = ContinuousClock.now
        try await Task.sleep(for: .seconds(idleSeconds))
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        let after = pids.map(cpuTicks)
        let ticks = Double(zip(after, before).map { $0 - $1 }.reduce(0, +))
        let rss = pids.map(residentKiB).reduce(0, +)
        let images = names.map { name in
            ((try? FileManager.default.attributesOfItem(atPath: "/var/lib/libvirt/qemu/save/\(name).save"))?[.size] as? NSNumber)?.doubleValue ?? 0
        }.reduce(0, +)
        return (Double(rss) / 1024, ticks / Double(sysconf(Int32(_SC_CLK_TCK))) / elapsed * 100, images / 1_048_576)
    }

    private func cpuTicks(_ pid: Int) -> Int {
        // /proc/PID/stat: fields after the command's closing parenthesis; utime and stime are
        // the 14th and 15th fields of the line.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return 0 }
        return user + system
    }

    private func residentKiB(_ pid: Int) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    private func waitUntil(_ what: String, _ store: SQLiteStore, poll: Duration = .milliseconds(250), timeout: Duration = .seconds(1800),
                           _ condition: @Sendable ([Desktop]) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition(try await store.desktops(pool: nil)) {
            guard ContinuousClock.now < deadline else { throw BenchFailure("\(what): not within \(timeout)") }
            try await Task.sleep(for: poll)
        }
    }

    private func timed(_ body: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        try await body()
        return (ContinuousClock.now - start) / .seconds(1)
    }

    private func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }
}
