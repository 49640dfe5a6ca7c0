import BenchSupport
// GatewayBench: what the SPICE gateway costs on loopback, direct vs through the gateway, in
// one run: (a) throughput of a display stream (desktop -> client, SPICE's heavy direction)
// and (b) round-trip latency of small messages (input events and their answers).
// Targets: gateway throughput >= 90% of direct; < 1 ms added per round trip.
//
//   GatewayBench [--pin] [stream-MiB] [round-trips] [repetitions]
//
// Without --pin, the viewer, the display and the gateway share all cores. With --pin
// (two cores or more), the viewer and display threads run on CPU 0 and the gateway's event
// loop on CPU 1: the endpoints get the same CPU in both paths and the gateway a core of its
// own, as on a real deployment where it is a separate host or process.
import DeskpoolCore
import DeskpoolGateway
import Foundation
import Logging
import NIOCore
import NIOPosix

let pin = CommandLine.arguments.contains("--pin")
let numbers = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let streamBytes = (numbers.first ?? 1024) * 1024 * 1024
let roundTripCount = numbers.dropFirst().first ?? 2000
let repetitions = max(1, numbers.dropFirst(2).first ?? 3)
let messageSize = 64

// The viewer is this thread; display threads start from it and inherit its CPU.
if pin, !Affinity.pinCurrentThread(to: 0) { throw BenchFailure("cannot pin to CPU 0") }
let display = try BenchDisplay(streamBytes: streamBytes)
let group: any EventLoopGroup = pin ? MultiThreadedEventLoopGroup(pinnedCPUIDs: [1]) : MultiThreadedEventLoopGroup.singleton

let key = ConnectTokenKey.random()
var configuration = GatewayConfiguration()
configuration.listen = "127.0.0.1"
configuration.port = 0
var logger = Logger(label: "deskpool.gateway.bench")
logger.logLevel = .warning
let gateway = SpiceGateway(configuration: configuration, key: key, directory: BenchDirectory(displayPort: display.port),
                           addresses: ClientAddressBook(), logger: logger, eventLoopGroup: group)
let serving = Task { try await gateway.run() }
let gatewayPort = try await gateway.waitUntilListening()
let token = ConnectToken(desktop: "bench", session: "bench", expires: Date().addingTimeInterval(3600)).signed(with: key)

let direct = BenchClient(path: .direct(displayPort: display.port))
let tunnelled = BenchClient(path: .gateway(port: gatewayPort, token: token, displayPort: display.port))

let placement = pin ? "viewer+display on CPU 0, gateway on CPU 1" : "all threads on all \(ProcessInfo.processInfo.activeProcessorCount) cores"
print("GatewayBench: loopback, \(placement); display stream \(streamBytes >> 20) MiB x \(repetitions) per path, \(roundTripCount) round trips of \(messageSize) B")

// MARK: - Throughput: alternate the two paths so that machine noise hits both alike.
// The process's CPU time (viewer, display and gateway together) per GiB streamed: the
// difference between the paths is what the gateway spends relaying a GiB.
var rates: [String: [Double]] = [:]
var cpuPerGiB: [String: [Double]] = [:]
for _ in 0..<repetitions {
    for client in [direct, tunnelled] {
        let cpuBefore = processCPUSeconds()
        let time = try client.receiveStream(of: streamBytes)
        rates["\(client.path)", default: []].append(Double(streamBytes) / 1e6 / time.seconds)
        cpuPerGiB["\(client.path)", default: []].append((processCPUSeconds() - cpuBefore) / (Double(streamBytes) / Double(1 << 30)))
    }
}

// MARK: - Latency
var latencies: [String: [Duration]] = [:]
for client in [direct, tunnelled] {
    latencies["\(client.path)"] = try client.roundTrips(roundTripCount, size: messageSize, warmUp: 200).sorted()
}

serving.cancel()
_ = try? await serving.value

// MARK: - Report
let directRate = median(rates["direct"] ?? [])
let gatewayRate = median(rates["gateway"] ?? [])
let ratio = gatewayRate / directRate
let p50 = (direct: percentile(latencies["direct"] ?? [], 0.5), gateway: percentile(latencies["gateway"] ?? [], 0.5))
let p99 = (direct: percentile(latencies["direct"] ?? [], 0.99), gateway: percentile(latencies["gateway"] ?? [], 0.99))

print("")
print(row("", "direct", "gateway", "gateway vs direct"))
print(row("throughput, MB/s (median)", fmt(directRate), fmt(gatewayRate), fmt(ratio * 100) + " %"))
let cpu = (direct: median(cpuPerGiB["direct"] ?? []), gateway: median(cpuPerGiB["gateway"] ?? []))
print(row("CPU s per GiB (all threads)", fmt2(cpu.direct), fmt2(cpu.gateway), "+" + fmt2(cpu.gateway - cpu.direct) + " s/GiB"))
print(row("round trip p50, µs", fmt(p50.direct), fmt(p50.gateway), "+" + fmt(p50.gateway - p50.direct) + " µs"))
print(row("round trip p99, µs", fmt(p99.direct), fmt(p99.gateway), "+" + fmt(p99.gateway - p99.direct) + " µs"))
print("")
print("throughput runs, MB/s: direct \((rates["direct"] ?? []).map(fmt).joined(separator: ", ")); gateway \((rates["gateway"] ?? []).map(fmt).joined(separator: ", "))")
print("gateway relay cost: \(fmt2(cpu.gateway - cpu.direct)) CPU s per GiB, i.e. one core relays about \(fmt(Double(1 << 30) / 1e6 / max(cpu.gateway - cpu.direct, 0.001))) MB/s")
print("target throughput >= 90% of direct: \(ratio >= 0.9 ? "met" : "NOT met") (\(fmt(ratio * 100)) %)")
print("target < 1000 µs added per round trip (p50): \(p50.gateway - p50.direct < 1000 ? "met" : "NOT met")")
