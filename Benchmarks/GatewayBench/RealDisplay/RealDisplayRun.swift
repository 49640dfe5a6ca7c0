import DeskpoolCore
import Foundation
import NIOPosix

/// Against a real display (a running desktop's SPICE plain port, its VNC display): no display
/// traffic (driving a real display's stream takes a real client), but the latency of what
/// every channel starts with, on fresh connections, direct and through the gateway, in turn.
/// SPICE: connect, send a main channel's link message, read the display's whole link reply.
/// VNC: connect, read the server's ProtocolVersion, answer it with the same, read the security
/// types; through the gateway as the browser console does (WebSocket upgrade, frames).
@MainActor
struct RealDisplayRun {
    let spice: (host: String, port: Int)?
    let vnc: (host: String, port: Int)?
    let connections: Int

    init(_ options: Options) {
        spice = options.spice
        vnc = options.vnc
        connections = options.connections
    }

    func run() async throws {
        var routes: [String: ConsoleRoute] = [:]
        if let spice { routes["spice"] = BenchDirectory.route("spice", address: spice.host, spicePort: spice.port, browserPort: nil) }
        if let vnc { routes["vnc"] = BenchDirectory.route("vnc", address: vnc.host, spicePort: nil, browserPort: vnc.port) }
        let gateway = try await BenchGateway.start(directory: BenchDirectory(routes: routes), group: MultiThreadedEventLoopGroup.singleton)
        print("GatewayBench, real display: \(connections) fresh connections per path, the paths in turn; the gateway on 127.0.0.1, "
            + "all threads on all \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("measured: the latency of a channel's start (handshakes), no display stream (a real display's throughput needs a real client)")
        print("'open' = connect() until the channel can carry bytes: direct, connect() itself; through the gateway, until its 200 "
            + "(CONNECT) or 101 (WebSocket): the token check, the route, the gateway's own connect to the display")
        if let spice {
            print("")
            print("SPICE \(spice.host):\(spice.port) (plain port), direct vs CONNECT tunnel: 'link' = sending a main channel's link message "
                + "until the display's whole link reply (spice-server makes an RSA key for each link: most of it); 'total' = connect() to the reply")
            print(row("", "direct", "gateway", "added", width: 12))
            let direct = BenchClient(path: .direct(displayPort: spice.port), displayHost: spice.host)
            let tunnelled = BenchClient(path: .gateway(port: gateway.port, token: gateway.token(desktop: "spice", session: "bench"),
                                                       displayPort: spice.port))
            try measure("SPICE", ["open", "link", "total"], direct: direct, tunnelled: tunnelled, probe: Self.spiceLink)
        }
        if let vnc {
            print("")
            print("VNC \(vnc.host):\(vnc.port), direct vs WebSocket relay (as the browser console): 'greeting' = open until the server's "
                + "ProtocolVersion; 'version' = sending the same version back until the security types; 'total' = connect() to them")
            print(row("", "direct", "websocket", "added", width: 12))
            let direct = BenchClient(path: .direct(displayPort: vnc.port), displayHost: vnc.host)
            let relayed = BenchClient(path: .websocket(port: gateway.port, token: gateway.token(desktop: "vnc", session: "bench"),
                                                       displayPort: vnc.port))
            try measure("VNC", ["open", "greeting", "version", "total"], direct: direct, tunnelled: relayed, probe: Self.vncVersion)
        }
        let refusals = gateway.gateway.statistics().refusals
        if !refusals.isEmpty { print("gateway refusals: \(refusals)") }
        await gateway.stop()
    }

    /// Runs `probe` `connections` times on each path, alternating, and prints p50/p99 of each
    /// of the durations it returns (as many as `labels`).
    private func measure(_ name: String, _ labels: [String], direct: BenchClient, tunnelled: BenchClient,
                         probe: (BenchClient) throws -> [Duration]) throws {
        var times = [[[Duration]]](repeating: [[], []], count: labels.count)
        for _ in 0..<connections {
            for (path, client) in [direct, tunnelled].enumerated() {
                for (index, time) in try probe(client).enumerated() { times[index][path].append(time) }
            }
        }
        for (label, paths) in zip(labels, times) {
            let sorted = paths.map { $0.sorted() }
            for p in [0.5, 0.99] {
                let (d, g) = (percentile(sorted[0], p), percentile(sorted[1], p))
                print(row("\(name) \(label) p\(Int(p * 100)), µs", fmt(d), fmt(g), signed(g - d), width: 12))
            }
        }
    }

    /// [open, link message to link reply, total].
    static func spiceLink(_ client: BenchClient) throws -> [Duration] {
        let clock = ContinuousClock()
        let start = clock.now
        let connection = try client.connect()
        defer { connection.close() }
        let open = clock.now
        try connection.send(SpiceLink.bytes(channel: SpiceLink.main))
        guard let size = SpiceLink.messageSize(header: try connection.receive(exactly: SpiceLink.headerSize)) else {
            throw BenchFailure("the display's answer is not a SPICE link reply")
        }
        _ = try connection.receive(exactly: size)
        let end = clock.now
        return [open - start, end - open, end - start]
    }

    /// [open, open to the server's version, the client's version to the security types, total].
    static func vncVersion(_ client: BenchClient) throws -> [Duration] {
        let clock = ContinuousClock()
        let start = clock.now
        let connection = try client.connect()
        defer { connection.close() }
        let open = clock.now
        let version = try connection.receive(exactly: 12)
        guard version.starts(with: Array("RFB ".utf8)) else { throw BenchFailure("the display's answer is not an RFB version") }
        let greeted = clock.now
        try connection.send(version)
        if version == Array("RFB 003.003\n".utf8) {
            _ = try connection.receive(exactly: 4)  // 3.3: the server picks the security type
        } else {
            let count = Int(try connection.receive(exactly: 1)[0])
            // 0: refused, then a reason; either way, the server's answer.
            _ = try connection.receive(exactly: count > 0 ? count : 4)
        }
        let end = clock.now
        return [open - start, greeted - open, end - greeted, end - start]
    }
}
