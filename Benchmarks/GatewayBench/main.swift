// GatewayBench: what the SPICE gateway costs, in one process. Three modes:
//
//   GatewayBench [--pin] [stream-MiB] [round-trips] [repetitions]        (default 1024 2000 3)
//     stub run on loopback: a stand-in display reached directly, through a CONNECT tunnel and
//     through the WebSocket relay; throughput of a display stream and 64-byte round trips
//     (p50/p99), with ratios to direct. Targets: >= 90% of direct; < 1 ms added at p99.
//   GatewayBench --capacity [CONSOLES] [--connects-per-console 7] [--websockets-per-console 1]
//     idle capacity (default 4,000 consoles, 8 tunnels each): consoles and tunnels held, RSS per
//     tunnel (net of the benchmark's own ends), descriptors, time to open and close.
//   GatewayBench [--display IPV4:PORT] [--vnc IPV4:PORT] [--connections 200]
//     a real display (a desktop's SPICE plain port, its VNC display): connect + handshake
//     latency on fresh connections, direct vs through the gateway.
import Foundation

do {
    let options = try Options.parse(CommandLine.arguments.dropFirst())
    switch options.mode {
    case .stub: try await StubRun(options).run()
    case .capacity(let consoles): try await CapacityRun(options, consoles: consoles).run()
    case .realDisplay: try await RealDisplayRun(options).run()
    }
} catch {
    FileHandle.standardError.write(Data("GatewayBench: \(error)\n".utf8))
    exit(1)
}
