import DeskpoolCore
import Foundation
import NIOCore
import NIOPosix

/// The idle-capacity run: one gateway holding `consoles` idle consoles, each a session with
/// `connectsPerConsole` CONNECT tunnels (SPICE channels) and `webSocketsPerConsole` browser
/// relays, its limits raised to fit. The same number of direct connections to the same
/// stand-in displays is opened first and kept, so that the benchmark's own ends (client socket,
/// display channel) can be told apart from what the gateway holds per tunnel.
@MainActor
struct CapacityRun {
    let consoles: Int
    let connectsPerConsole: Int
    let webSocketsPerConsole: Int
    var perConsole: Int { connectsPerConsole + webSocketsPerConsole }
    var tunnels: Int { consoles * perConsole }

    /// The SPICE channel types a console's CONNECTs carry in turn (main, display, inputs,
    /// cursor, playback, record, usbredir: remote-viewer's usual set).
    static let channels: [UInt8] = [1, 2, 3, 4, 5, 6, 9]
    static let consolesPerDisplayPort = 1000
    /// Clients connect from 127.0.0.2 up: one address cannot make more connections to the
    /// gateway's port than the ephemeral port range has ports.
    static let sourceAddresses = 16
    /// Descriptors beyond the connections' (NIO's selectors and wake-ups, /proc reads).
    static let spareDescriptors = 256

    init(_ options: Options, consoles: Int) {
        self.consoles = consoles
        connectsPerConsole = options.connectsPerConsole
        webSocketsPerConsole = options.webSocketsPerConsole
    }

    func run() async throws {
        guard tunnels <= 100_000, perConsole <= 256 else {
            throw BenchFailure("the gateway allows at most 100,000 tunnels and 256 per session; asked for \(tunnels), \(perConsole) per console")
        }
        // Each tunnel holds 4 descriptors in this process (client, the gateway's two, the
        // display's) and each direct connection 2.
        let base = ProcessFigures.openDescriptors() + Self.spareDescriptors
        guard let limit = try ProcessFigures.raiseDescriptorLimit(to: base + 6 * tunnels) else {
            let hard = Int(try ProcessFigures.descriptorLimit().rlim_max)
            throw BenchFailure("\(consoles) consoles need \(base + 6 * tunnels) descriptors (\(tunnels) tunnels x 4, as many direct connections x 2, "
                + "+ \(base)), and RLIMIT_NOFILE's hard limit \(hard) cannot be raised here (it takes CAP_SYS_RESOURCE); "
                + "at most \(max(0, (hard - base) / (6 * perConsole))) consoles of \(perConsole) fit")
        }
        let group = MultiThreadedEventLoopGroup.singleton
        let display = try await IdleDisplay.start(group: group, pairs: (consoles + Self.consolesPerDisplayPort - 1) / Self.consolesPerDisplayPort)
        var routes: [String: ConsoleRoute] = [:]
        for console in 0..<consoles {
            let pair = console % display.spicePorts.count
            routes[Self.desktop(console)] = BenchDirectory.route(Self.desktop(console), address: "127.0.0.1", spicePort: display.spicePorts[pair],
                                                                 browserPort: display.vncPorts[pair])
        }
        var configuration = GatewayConfiguration()
        configuration.maxTunnels = tunnels
        configuration.maxTunnelsPerSession = perConsole
        let gateway = try await BenchGateway.start(directory: BenchDirectory(routes: routes), group: group, configuration: configuration)

        print("GatewayBench --capacity: \(consoles) idle consoles x (\(connectsPerConsole) CONNECT + \(webSocketsPerConsole) WebSocket) "
            + "= \(tunnels) tunnels, one process on loopback, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print(limit + " (needed: 4 descriptors per tunnel, 2 per direct connection, + \(Self.spareDescriptors) spare)")
        print("gateway: maxTunnels \(tunnels), maxTunnelsPerSession \(perConsole), one session per console; stand-in displays: "
            + "\(display.spicePorts.count) SPICE + \(display.vncPorts.count) VNC ports on NIO; clients from 127.0.0.2-\(1 + Self.sourceAddresses), "
            + "one thread, one connection at a time (each CONNECT waits for its 200 and the display's link reply, each WebSocket for its 101 "
            + "and the display's greeting, and answers it)")
        try await Task.sleep(for: .seconds(1))
        let start = Sample()

        let clock = ContinuousClock()
        var began = clock.now
        let direct = try (0..<consoles).flatMap { try openConsole($0, through: nil, display: display) }
        let directTime = clock.now - began
        try await waitUntil("the displays hold \(tunnels) connections") { display.connections == tunnels }
        let afterDirect = try await Sample.settled()

        began = clock.now
        let tunnelled = try (0..<consoles).flatMap { try openConsole($0, through: gateway, display: display) }
        let tunnelTime = clock.now - began
        try await waitUntil("the gateway holds \(tunnels) tunnels") {
            gateway.gateway.statistics().openTunnels == tunnels && display.connections == 2 * tunnels
        }
        let afterTunnels = try await Sample.settled()
        let statistics = gateway.gateway.statistics()

        began = clock.now
        for connection in tunnelled { connection.close() }
        try await waitUntil("the gateway closes every tunnel") {
            gateway.gateway.statistics().openTunnels == 0 && display.connections == tunnels
        }
        let closeTime = clock.now - began
        for connection in direct { connection.close() }
        try await waitUntil("the displays close every connection") { display.connections == 0 }
        await gateway.stop()
        await display.close()

        print("")
        print(row("", "RSS MiB", "descriptors", "kernel TCP MiB", "opened in s", width: 16))
        print(start.line("start (gateway listening)", time: nil))
        print(afterDirect.line("+ \(tunnels) direct connections", time: directTime))
        print(afterTunnels.line("+ \(tunnels) tunnels", time: tunnelTime))
        print("")
        let held = statistics.sessions.values.filter { $0.openTunnels > 0 }.count
        let browser = statistics.sessions.values.reduce(0) { $0 + ($1.channels[.browser] ?? 0) }
        print("consoles held: \(held) (sessions with open tunnels); tunnels held: \(statistics.openTunnels) (the gateway's openTunnels; "
            + "\(browser) of them WebSocket), refusals: \(statistics.refusals.values.reduce(0, +))")
        let endpoints = Double(afterDirect.residentKiB - start.residentKiB) / Double(tunnels)
        let whole = Double(afterTunnels.residentKiB - afterDirect.residentKiB) / Double(tunnels)
        print("RSS per direct connection (client socket + stand-in display's NIO channel): \(fmt2(endpoints)) KiB")
        print("RSS per tunnel, whole process (client socket, gateway's two channels, display's channel): \(fmt2(whole)) KiB")
        print("RSS per tunnel, the gateway's own (the difference): \(fmt2(whole - endpoints)) KiB; "
            + "x \(tunnels) tunnels = \(fmt((whole - endpoints) * Double(tunnels) / 1024)) MiB")
        print("descriptors per direct connection \(fmt2(Double(afterDirect.descriptors - start.descriptors) / Double(tunnels))), "
            + "per tunnel \(fmt2(Double(afterTunnels.descriptors - afterDirect.descriptors) / Double(tunnels))) (client, gateway's two, display)")
        print("opened: \(tunnels) direct connections in \(fmt2(directTime.seconds)) s (\(fmt(Double(tunnels) / directTime.seconds))/s), "
            + "\(tunnels) tunnels in \(fmt2(tunnelTime.seconds)) s (\(fmt(Double(tunnels) / tunnelTime.seconds))/s)")
        print("closed: \(tunnels) tunnels (clients closed, gateway and display sides followed) in \(fmt2(closeTime.seconds)) s")
        print("RSS is measured \(Sample.settle) after the last connection opened; kernel TCP is /proc/net/sockstat (all processes), not in RSS")
    }

    static func desktop(_ console: Int) -> String { "console-\(console)" }

    /// One console's connections: its CONNECT channels (each sends its SPICE link and reads the
    /// display's link reply) and its browser relays (each reads the VNC greeting and answers with its version, as noVNC does),
    /// through the gateway, or straight to the same displays when `gateway` is nil.
    private func openConsole(_ console: Int, through gateway: BenchGateway?, display: IdleDisplay) throws -> [BenchConnection] {
        let pair = console % display.spicePorts.count
        let (spicePort, vncPort) = (display.spicePorts[pair], display.vncPorts[pair])
        let source = "127.0.0.\(2 + console % Self.sourceAddresses)"
        let token = gateway?.token(desktop: Self.desktop(console), session: "session-\(console)") ?? ""
        let spice = BenchClient(path: gateway.map { .gateway(port: $0.port, token: token, displayPort: spicePort) } ?? .direct(displayPort: spicePort),
                                source: source)
        let vnc = BenchClient(path: gateway.map { .websocket(port: $0.port, token: token, displayPort: vncPort) } ?? .direct(displayPort: vncPort),
                              source: source)
        var connections: [BenchConnection] = []
        for index in 0..<connectsPerConsole {
            let connection = try spice.open(channel: Self.channels[index % Self.channels.count])
            connections.append(connection)
            guard let size = SpiceLink.messageSize(header: try connection.receive(exactly: SpiceLink.headerSize)) else {
                throw BenchFailure("console \(console): no link reply")
            }
            _ = try connection.receive(exactly: size)
        }
        for _ in 0..<webSocketsPerConsole {
            let connection = try vnc.connect()
            connections.append(connection)
            guard try connection.receive(exactly: IdleDisplay.greeting.count) == IdleDisplay.greeting else {
                throw BenchFailure("console \(console): no RFB greeting")
            }
            try connection.send(IdleDisplay.greeting)
        }
        return connections
    }

    private func waitUntil(_ what: String, within limit: Duration = .seconds(120), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while !condition() {
            guard ContinuousClock.now < deadline else { throw BenchFailure("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// The process's figures at one point of the capacity run.
private struct Sample {
    static let settle = Duration.seconds(3)

    let residentKiB = ProcessFigures.residentKiB()
    let descriptors = ProcessFigures.openDescriptors()
    let kernelTCPKiB = ProcessFigures.kernelTCPBuffersKiB()

    /// After `settle` (longer than the gateway's 2 s sweep of browser consoles).
    static func settled() async throws -> Sample {
        try await Task.sleep(for: settle)
        return Sample()
    }

    func line(_ label: String, time: Duration?) -> String {
        row(label, fmt(Double(residentKiB) / 1024), "\(descriptors)", kernelTCPKiB.map { fmt(Double($0) / 1024) } ?? "-",
                         time.map { fmt2($0.seconds) } ?? "", width: 16)
    }
}
