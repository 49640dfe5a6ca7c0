import Foundation
import NIOCore
import NIOPosix

/// The stub run: a stand-in display on loopback, reached directly, through the gateway with
/// a CONNECT (remote-viewer's path) and through its WebSocket relay (the browser console's),
/// in one run: (a) throughput of a display stream (desktop -> client, the heavy direction) and
/// (b) round-trip latency of small messages (input events and their answers).
///
/// Without `pin`, the viewer, the display and the gateway share all cores. With it (two cores
/// or more), the viewer and display threads run on CPU 0 and the gateway's event loop on CPU 1:
/// the endpoints get the same CPU on every path and the gateway a core of its own, as on a real
/// deployment where it is a separate host or process.
@MainActor
struct StubRun {
    let pin: Bool
    let streamBytes: Int
    let roundTripCount: Int
    let repetitions: Int
    let messageSize = 64

    init(_ options: Options) {
        pin = options.pin
        streamBytes = (options.numbers.first ?? 1024) * 1024 * 1024
        roundTripCount = options.numbers.dropFirst().first ?? 2000
        repetitions = max(1, options.numbers.dropFirst(2).first ?? 3)
    }

    func run() async throws {
        // The viewer is this thread (the main thread); display threads start from it and
        // inherit its CPU.
        if pin, !Affinity.pinCurrentThread(to: 0) { throw BenchFailure("cannot pin to CPU 0") }
        let display = try BenchDisplay(streamBytes: streamBytes)
        let group: any EventLoopGroup = pin ? MultiThreadedEventLoopGroup(pinnedCPUIDs: [1]) : MultiThreadedEventLoopGroup.singleton
        let gateway = try await BenchGateway.start(directory: .stub(displayPort: display.port), group: group)
        let token = gateway.token(desktop: "bench", session: "bench")
        let clients = [
            BenchClient(path: .direct(displayPort: display.port)),
            BenchClient(path: .gateway(port: gateway.port, token: token, displayPort: display.port)),
            BenchClient(path: .websocket(port: gateway.port, token: token, displayPort: display.port)),
        ]

        let placement = pin ? "viewer+display on CPU 0, gateway on CPU 1" : "all threads on all \(ProcessInfo.processInfo.activeProcessorCount) cores"
        print("GatewayBench: loopback, \(placement); display stream \(streamBytes >> 20) MiB x \(repetitions) per path, "
            + "\(roundTripCount) round trips of \(messageSize) B")
        print("paths: direct TCP; gateway = CONNECT tunnel (remote-viewer); websocket = browser console relay "
            + "(the client sends masked binary frames, decodes the gateway's frames and counts their payload)")

        // Throughput: the paths alternate so that machine noise hits them alike. The process's
        // CPU time (viewer, display and gateway together) per GiB streamed: the difference
        // from direct is what the gateway spends relaying a GiB.
        var rates: [String: [Double]] = [:]
        var cpuPerGiB: [String: [Double]] = [:]
        for _ in 0..<repetitions {
            for client in clients {
                let cpuBefore = processCPUSeconds()
                let time = try client.receiveStream(of: streamBytes)
                rates["\(client.path)", default: []].append(Double(streamBytes) / 1e6 / time.seconds)
                cpuPerGiB["\(client.path)", default: []].append((processCPUSeconds() - cpuBefore) / (Double(streamBytes) / Double(1 << 30)))
            }
        }
        var latencies: [String: [Duration]] = [:]
        for client in clients {
            latencies["\(client.path)"] = try client.roundTrips(roundTripCount, size: messageSize, warmUp: 200).sorted()
        }
        await gateway.stop()
        report(rates: rates, cpuPerGiB: cpuPerGiB, latencies: latencies)
    }

    private func report(rates: [String: [Double]], cpuPerGiB: [String: [Double]], latencies: [String: [Duration]]) {
        let paths = ["direct", "gateway", "websocket"]
        let rate = paths.map { median(rates[$0] ?? []) }
        let cpu = paths.map { median(cpuPerGiB[$0] ?? []) }
        let p50 = paths.map { percentile(latencies[$0] ?? [], 0.5) }
        let p99 = paths.map { percentile(latencies[$0] ?? [], 0.99) }
        func line(_ label: String, _ values: [Double], _ format: (Double) -> String, _ compare: (Double, Double) -> String) -> String {
            row(label, values.map(format)[0], values.map(format)[1], values.map(format)[2])
                + pad(compare(values[1], values[0]), 20) + pad(compare(values[2], values[0]), 22)
        }
        print("")
        print(row("", "direct", "gateway", "websocket") + pad("gateway vs direct", 20) + pad("websocket vs direct", 22))
        print(line("throughput, MB/s (median)", rate, fmt) { fmt($0 / $1 * 100) + " %" })
        print(line("CPU s per GiB (all threads)", cpu, fmt2) { ($0 >= $1 ? "+" : "") + fmt2($0 - $1) + " s/GiB" })
        print(line("round trip p50, µs", p50, fmt) { signed($0 - $1) + " µs" })
        print(line("round trip p99, µs", p99, fmt) { signed($0 - $1) + " µs" })
        print("")
        print("throughput runs, MB/s: " + paths.map { "\($0) \((rates[$0] ?? []).map(fmt).joined(separator: ", "))" }.joined(separator: "; "))
        for index in 1...2 {
            let cost = cpu[index] - cpu[0]
            print("\(paths[index]) relay cost: \(fmt2(cost)) CPU s per GiB, i.e. one core relays about "
                + "\(fmt(Double(1 << 30) / 1e6 / max(cost, 0.001))) MB/s")
        }
        for index in 1...2 {
            let ratio = rate[index] / rate[0]
            let added = p99[index] - p99[0]
            print("\(paths[index]): target throughput >= 90% of direct \(ratio >= 0.9 ? "met" : "NOT met") (\(fmt(ratio * 100)) %); "
                + "target < 1000 µs added at p99 \(added < 1000 ? "met" : "NOT met") (\(signed(added)) µs)")
        }
    }
}
