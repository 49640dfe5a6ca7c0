import BenchSupport
import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import Foundation
import Libvirt
import Logging

// Bulk policies (issue 6): plan and apply a ConfigPolicy, and run a CheckPolicy, over many
// defined desktops through the broker's own code (PolicyRollouts + RolloutService +
// LibvirtHypervisor + SQLite). scripts/bench-policy runs it next to the virsh and
// python3-libvirt loops on the same domains and prints the ratios.
//
//   PolicyBench define  --uri U --count N --prefix P --store FILE   define N domains (not started) and their records
//   PolicyBench config  --uri U --store FILE --memory MiB          plan + apply memoryMiB to them all; prints ms
//   PolicyBench check   --uri U --store FILE                       a CheckPolicy of the built-in definition checks; prints ms
//   PolicyBench undefine --uri U --prefix P
//   PolicyBench scale   --count 1000                               all of it on test:///default in this process

let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { fatalError("usage: PolicyBench define|config|check|undefine|scale --key value ...") }
let options = Arguments(arguments.dropFirst())
/// This process's CPU time (user and system), in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// The broker's logs at warning and above, on standard error.
func benchLogger() -> Logger {
    var logger = Logger(label: "bench") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .warning
    return logger
}

let template = TemplateDefinition(name: "tiny-linux", vcpus: 1, memoryMiB: 256, bootTimeoutSeconds: 60, domainXML: """
    <domain type='qemu'><name>x</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
    <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
    <devices><channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <graphics type='spice' autoport='yes'><listen type='address' address='127.0.0.1'/></graphics>
    <video><model type='qxl'/></video></devices></domain>
    """)

func hypervisor(_ uri: String) async throws -> LibvirtHypervisor {
    let connection = try await Connection.open(uri)
    return LibvirtHypervisor(host: "local", connection: connection, storagePool: "default", domainType: uri.hasPrefix("test") ? "test" : "qemu",
                             instance: "bench")
}

/// Defines `count` desktops of pool `bench` (state off: defined, not started) with records.
func define(_ hypervisor: LibvirtHypervisor, store: any Store, count: Int, prefix: String) async throws {
    try await store.putTemplate(template, actor: "bench")
    let version = try await store.beginVersion(template: "tiny-linux", note: "bench", actor: "bench")
    try await store.publishVersion(template: "tiny-linux", number: version.number, actor: "bench")
    try await store.putPool(PoolSpec(name: "bench", template: "tiny-linux", version: .pinned(version.number), max: PoolSpec.maxDesktops, spare: 0,
                                     naming: NamePattern("\(prefix){n:04}")), actor: "bench")
    let pool = try await store.pool(named: "bench")!
    for n in 1...count {
        let desktop = Desktop(name: "\(prefix)\(String(format: "%04d", n))", pool: "bench", host: "local", template: "tiny-linux",
                              version: version.number, state: .off, generation: pool.generation, createdAt: Date())
        let xml = try DesktopDomainXML(identity: desktop.identity, template: template, domainType: hypervisor.domainType,
                                       volumePath: "/var/tmp/deskpool-bench/\(desktop.volumeName)", consoleListen: "127.0.0.1",
                                       instance: "bench").render()
        _ = try await hypervisor.connection.defineDomain(xml: xml)
        _ = try await store.insertDesktop(desktop, actor: "bench", limit: nil)
    }
}

func policies(_ store: any Store, _ hypervisor: LibvirtHypervisor) -> (PolicyRollouts, RolloutService) {
    let service = RolloutService(store: store, hypervisors: [hypervisor],
                                 sessions: SessionBroker(store: store, estimator: ReadyEstimator(), placement: { _ in nil }),
                                 logger: benchLogger())
    return (PolicyRollouts(store: store, hypervisors: [hypervisor]), service)
}

/// Applies the policy and steps the service until the rollout is over; the seconds taken for
/// the plan and for plan + apply.
func run(_ source: String, store: any Store, hypervisor: LibvirtHypervisor) async throws -> (plan: Double, total: Double, items: [RolloutItem]) {
    let (rollouts, service) = policies(store, hypervisor)
    let clock = ContinuousClock()
    let start = clock.now
    let cpu0 = cpuSeconds()
    _ = try await rollouts.plan(try PolicyRollouts.parse(source))
    let planned = clock.now
    let cpu1 = cpuSeconds()
    let rollout = try await rollouts.apply(source: source, actor: "bench")
    let applied = clock.now
    let cpu2 = cpuSeconds()
    var passes: [Double] = []
    while try await store.rollout(id: rollout.id)?.state.isFinal == false {
        let pass = clock.now
        await service.step()
        passes.append((clock.now - pass).seconds)
    }
    let end = clock.now
    print(String(format: "  phases: plan %.3f s (cpu %.3f), apply %.3f s (cpu %.3f), service passes %@ s (cpu %.3f)", (planned - start).seconds, cpu1 - cpu0,
                 (applied - planned).seconds, cpu2 - cpu1, passes.map { String(format: "%.3f", $0) }.joined(separator: " "), cpuSeconds() - cpu2))
    return ((planned - start).seconds, (end - start).seconds, try await store.rolloutItems(rollout: rollout.id))
}

func configPolicy(memory: Int) -> String {
    """
    apiVersion: deskpool/v1
    kind: ConfigPolicy
    metadata:
      name: bench-memory-\(memory)
    spec:
      selector:
        pools: [bench]
      set:
        desktop:
          memoryMiB: \(memory)
      strategy:
        canary: 0
        waveSize: "100%"
        maxUnavailable: "100%"
    """
}

let checkPolicy = """
    apiVersion: deskpool/v1
    kind: CheckPolicy
    metadata:
      name: bench-checks
    spec:
      selector:
        pools: [bench]
      checks:
        - consolePassword: {maxValidity: 5m}
        - forbiddenDevices: [usbredir, smartcard]
        - templateVersion: {within: 0}
        - noUnexpectedDisks: true
        - configuration: true
    """

func report(_ what: String, _ seconds: Double, count: Int, items: [RolloutItem]) {
    let settled = Dictionary(grouping: items, by: \.status).map { "\($0.value.count) \($0.key.rawValue)" }.sorted().joined(separator: ", ")
    print(String(format: "%@: %.3f s for %d desktops, %.2f ms per desktop (%@)", what, seconds, count, seconds * 1000 / Double(max(count, 1)), settled))
}

switch command {
case "define":
    let hv = try await hypervisor(options.string("uri"))
    try await define(hv, store: try SQLiteStore(path: options.string("store")), count: options.int("count", 200), prefix: options.string("prefix"))
case "config":
    let hv = try await hypervisor(options.string("uri"))
    let store = try SQLiteStore(path: options.string("store"))
    let (plan, total, items) = try await run(configPolicy(memory: options.int("memory", 300)), store: store, hypervisor: hv)
    print(String(format: "deskpool plan: %.3f s", plan))
    report("deskpool plan+apply", total, count: items.count, items: items)
case "check":
    let hv = try await hypervisor(options.string("uri"))
    let store = try SQLiteStore(path: options.string("store"))
    let (_, total, items) = try await run(checkPolicy, store: store, hypervisor: hv)
    report("deskpool checks", total, count: items.count, items: items)
case "undefine":
    let hv = try await hypervisor(options.string("uri"))
    for listing in try await hv.connection.listDomains() where listing.domain.name.hasPrefix(options.string("prefix")) {
        try? await listing.domain.undefine()
    }
case "scale":
    // Everything on the test driver in this process: 1,000 desktops, a ConfigPolicy, then checks.
    let count = options.int("count", 1000)
    let hv = try await hypervisor("test:///default")
    let store = try SQLiteStore(path: NSTemporaryDirectory() + "deskpool-policybench-\(UUID().uuidString).sqlite")
    try await define(hv, store: store, count: count, prefix: "scale-")
    let (plan, total, items) = try await run(configPolicy(memory: 300), store: store, hypervisor: hv)
    print(String(format: "test driver, %d desktops: ConfigPolicy plan %.3f s; plan + apply %.3f s (target < 2 s) -> %@", count, plan, total,
                 total < 2 ? "met" : "NOT met"))
    report("  config", total, count: items.count, items: items)
    let (_, checks, checked) = try await run(checkPolicy, store: store, hypervisor: hv)
    print(String(format: "test driver, %d desktops: CheckPolicy (built-in definition checks) %.3f s (target < 2 s) -> %@", count, checks,
                 checks < 2 ? "met" : "NOT met"))
    report("  checks", checks, count: checked.count, items: checked)
default:
    fatalError("unknown command \(command)")
}
