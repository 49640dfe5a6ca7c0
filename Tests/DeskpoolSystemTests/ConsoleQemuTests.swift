import DeskpoolCore
import DeskpoolGateway
import DeskpoolLibvirt
import DeskpoolStore
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Logging
import Testing

/// Console delivery on real parts: the broker's reconciler, session service and SPICE gateway
/// in this process, desktops booted from the tiny template on qemu:///system (TCG here), and a
/// real remote-viewer under Xvfb opening the `.vv` files the broker wrote. The screen is read
/// back with tesseract.
@Suite(
    "Consoles on qemu:///system with remote-viewer", .serialized,
    .enabled(if: TestTier.viewer.isEnabled, Comment(rawValue: TestTier.viewer.skipReason)))
struct ConsoleQemuTests {
    /// The broker with its gateway on a free loopback port, Xvfb, and a pool `pool` ready.
    static func withConsoles(pool configure: @escaping @Sendable (inout PoolSpec) -> Void = { _ in }, spare: Int = 1,
                             tls: [String: VirtViewerFile.TLS] = [:], _ body: @escaping @Sendable (BrokerHarness, SpiceGateway, VirtualDisplay, String) async throws -> Void) async throws {
        var gateway = GatewayConfiguration()
        gateway.port = try TCPProbe.freePort()
        try await BrokerQemuTests.withBroker(gateway: gateway, tls: tls) { h, _, _, prefix in
            var logger = Logger(label: "deskpool.gateway.test")
            logger.logLevel = .warning
            let spice = SpiceGateway(configuration: gateway, key: h.tokenKey, directory: h.directory, addresses: h.addresses, logger: logger)
            var pool = BrokerQemuTests.pool("desk", prefix: prefix, spare: spare)
            configure(&pool)
            try await h.admin.applyPool(pool, actor: "admin:test")
            let display = try VirtualDisplay()
            defer { display.stop() }
            try await h.running {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await spice.run() }
                    defer { group.cancelAll() }
                    _ = try await spice.waitUntilListening()
                    try await h.wait(for: "\(spare) ready desktop(s)", timeout: .seconds(600), poll: .seconds(1)) {
                        try await h.desktops("desk", in: [.ready]).count >= spare
                    }
                    try await body(h, spice, display, prefix)
                }
            }
        }
    }

    /// A user's desktop of the pool.
    static func assign(_ h: BrokerHarness, to user: String) async throws -> Desktop {
        guard case .assigned(let desktop) = try await h.broker.request(.init(user: user), pool: "desk") else {
            throw GuestConsole.Failure(description: "no desktop assigned to \(user)")
        }
        return desktop
    }

    /// Writes a `.vv` where remote-viewer can read (and delete) it.
    static func write(_ file: VirtViewerFile) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-\(UUID().uuidString).vv").path
        guard FileManager.default.createFile(atPath: path, contents: Data(file.text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw GuestConsole.Failure(description: "cannot write \(path)")
        }
        return path
    }

    static func value(_ key: String, in file: VirtViewerFile) -> String? { file.entries.first { $0.key == key }?.value }

    static func state(_ h: BrokerHarness, _ desktop: Desktop) async throws -> Desktop? { try await h.store.desktop(id: desktop.id) }

    @Test("through the gateway: remote-viewer shows the desktop's banner, the session becomes connected, then disconnected, then refreshed by the disconnect timeout")
    func endToEnd() async throws {
        try await Self.withConsoles(pool: { $0.session.disconnectTimeoutSeconds = 5 }) { h, spice, display, _ in
            let desktop = try await Self.assign(h, to: "alice")
            let grant = try await h.consoles.open(desktop: desktop.id, for: "alice", clientAddress: "127.0.0.1")
            #expect(grant.viaGateway)
            #expect(Self.value("proxy", in: grant.file) == "http://127.0.0.1:\(spice.configuration.port)")
            #expect(Self.value("host", in: grant.file)?.contains("127.0.0.1") == false, "the host is a token, not an address")
            let path = try Self.write(grant.file)
            let viewer = try RemoteViewer(file: path, display: display)
            // Connected first (the first remote-viewer on a fresh machine starts slowly: GTK,
            // fonts), then the screen; a failure shows what remote-viewer said.
            do {
                try await h.wait(for: "connected", timeout: .seconds(120)) { try await Self.state(h, desktop)?.state == .connected }
                try await display.waitForText("the desktop's name \(desktop.name)", timeout: .seconds(120)) { GuestConsole.shows(name: desktop.name, on: $0) }
            } catch {
                Issue.record("remote-viewer's output: \(viewer.output.suffix(3000))")
                throw error
            }
            #expect(!FileManager.default.fileExists(atPath: path), "delete-this-file=1: remote-viewer deleted the file")
            let connected = try #require(try await Self.state(h, desktop))
            let tunnels = spice.statistics()
            #expect(tunnels.sessions[connected.sessionID ?? ""].map { $0.openTunnels >= 2 } == true, "remote-viewer's channels go through the gateway: \(tunnels)")
            // The client recorded is remote-viewer's own socket (what the gateway saw), not the gateway's.
            #expect(connected.client?.hasPrefix("127.0.0.1:") == true)
            // qemu's own list of the display's clients (query-spice): the gateway's sockets.
            let clients = try await h.hypervisors[0].consoleClients(ofDesktop: desktop.name)
            #expect(!clients.isEmpty && clients.allSatisfy { $0.hasPrefix("127.0.0.1:") }, "the display's clients: \(clients)")

            viewer.stop()
            let closed = Date()
            try await h.wait(for: "disconnected", timeout: .seconds(30)) { try await Self.state(h, desktop)?.state == .disconnected }
            #expect(Date().timeIntervalSince(closed) >= 1.5, "the 2 s debounce")
            #expect(try await h.hypervisors[0].consoleClients(ofDesktop: desktop.name) == [], "no client once the viewer quit")
            // The pool's logoff action (floating: refresh) after the 5 s disconnect timeout. The
            // refreshed desktop may then be retired: the pool already has its spare.
            try await h.wait(for: "the disconnect timeout's refresh", timeout: .seconds(60)) {
                guard let now = try await Self.state(h, desktop) else { return true }
                return now.user == nil && now.state != .disconnected
            }
            let audit = try await h.store.auditLog(subject: "desktop/\(desktop.name)", limit: 100).map(\.detail)
            #expect(audit.contains { $0.contains("disconnected -> refreshing") && $0.contains("disconnected for more than 5 s") })
        }
    }

    @Test("a wrong, expired or replaced ticket does not open the console: auth failure, and a security event")
    func badTickets() async throws {
        try await Self.withConsoles(pool: { $0.console.ticketSeconds = 3 }) { h, _, display, _ in
            let desktop = try await Self.assign(h, to: "alice")
            let replaced = try await h.consoles.open(desktop: desktop.id, for: "alice")
            let current = try await h.consoles.open(desktop: desktop.id, for: "alice")
            var wrong = current.file.text
            let password = try #require(Self.value("password", in: current.file))
            wrong = wrong.replacingOccurrences(of: "password=\(password)", with: "password=\(ConsoleTicket.mint().secret)")
            let wrongPath = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-wrong-\(UUID()).vv").path
            try wrong.write(toFile: wrongPath, atomically: true, encoding: .utf8)
            for (what, path) in [("replaced", try Self.write(replaced.file)), ("wrong", wrongPath)] {
                let viewer = try RemoteViewer(file: path, display: display)
                try await viewer.waitForOutput("auth failure", timeout: .seconds(60))
                viewer.stop()
                #expect(try await Self.state(h, desktop)?.state == .assigned, "a \(what) ticket connects nobody")
            }
            // Expired: a valid ticket used after its 3 s.
            let expiring = try await h.consoles.open(desktop: desktop.id, for: "alice")
            let expiredPath = try Self.write(expiring.file)
            try await Task.sleep(for: .seconds(4))
            let viewer = try RemoteViewer(file: expiredPath, display: display)
            try await viewer.waitForOutput("auth failure", timeout: .seconds(60))
            viewer.stop()
            try await h.wait(for: "three security events", timeout: .seconds(30)) {
                try await h.store.auditLog(subject: "desktop/\(desktop.name)", limit: 200).filter { $0.action == "console.refused" }.count >= 3
            }
            #expect(try await Self.state(h, desktop)?.state == .assigned)
        }
    }

    @Test("takeover: a second request for the desktop disconnects the first viewer (kiosk mode exits); the second connects")
    func takeover() async throws {
        try await Self.withConsoles { h, _, display, _ in
            let desktop = try await Self.assign(h, to: "alice")
            let first = try RemoteViewer(file: try Self.write(try await h.consoles.open(desktop: desktop.id, for: "alice").file), display: display, kiosk: true)
            try await h.wait(for: "the first viewer connected", timeout: .seconds(60)) { try await Self.state(h, desktop)?.state == .connected }
            try await display.waitForText("the desktop's name on the first viewer", timeout: .seconds(90)) { GuestConsole.shows(name: desktop.name, on: $0) }
            // qemu's own list: the first viewer's channels (each a client address).
            let firstClients = Set(try await h.hypervisors[0].consoleClients(ofDesktop: desktop.name))
            #expect(!firstClients.isEmpty && first.isRunning)
            let second = try RemoteViewer(file: try Self.write(try await h.consoles.open(desktop: desktop.id, for: "alice").file), display: display)
            let status = try await first.waitForExit(timeout: .seconds(30))
            #expect(status != nil, "the first viewer was disconnected and quit (kiosk-quit=on-disconnect)")
            try await display.waitForText("the desktop's name on the second viewer", timeout: .seconds(90)) { GuestConsole.shows(name: desktop.name, on: $0) }
            #expect(second.isRunning)
            // qemu dropped every channel of the first and serves the second's.
            try await h.wait(for: "only the second viewer's channels", timeout: .seconds(30), poll: .milliseconds(200)) {
                let now = Set(try await h.hypervisors[0].consoleClients(ofDesktop: desktop.name))
                return !now.isEmpty && now.isDisjoint(with: firstClients)
            }
            #expect(try await Self.state(h, desktop)?.state == .connected)
            second.stop()
        }
    }

    @Test("the gateway: a token for desktop A cannot reach desktop B; an expired token and a plain CONNECT 127.0.0.1:22 are refused")
    func gatewayRefusals() async throws {
        try await Self.withConsoles(spare: 2) { h, spice, _, _ in
            let a = try await Self.assign(h, to: "alice")
            let b = try await Self.assign(h, to: "bob")
            let grantA = try await h.consoles.open(desktop: a.id, for: "alice")
            let grantB = try await h.consoles.open(desktop: b.id, for: "bob")
            let tokenA = try #require(Self.value("host", in: grantA.file))
            let portA = try #require(Self.value("port", in: grantA.file))
            let portB = try #require(Self.value("port", in: grantB.file))
            let port = spice.configuration.port
            func connect(_ target: String) throws -> String {
                try TCPProbe.firstLine(port: port, request: "CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\n\r\n")
            }
            #expect(try connect("\(tokenA):\(portA)").contains(" 200 "), "A's token reaches A")
            #expect(try connect("\(tokenA):\(portB)").contains(" 403 "), "A's token does not reach B's display")
            #expect(try connect("127.0.0.1:22").contains(" 403 "))
            #expect(try connect("127.0.0.1:\(portA)").contains(" 403 "), "no plain address, even of a display")
            let session = try #require(try await h.store.desktop(id: a.id)?.sessionID)
            let expired = ConnectToken(desktop: a.id, session: session, expires: Date().addingTimeInterval(-1)).signed(with: h.tokenKey)
            #expect(try connect("\(expired):\(portA)").contains(" 403 "))
            let forged = ConnectToken(desktop: a.id, session: session, expires: Date().addingTimeInterval(60)).signed(with: .random())
            #expect(try connect("\(forged):\(portA)").contains(" 403 "))
            #expect(spice.statistics().refusals.values.reduce(0, +) >= 5)
        }
    }

    @Test("SPICE TLS: a .vv with the CA and the host subject opens the console over TLS through the gateway; a wrong CA does not",
          .enabled(if: TestTier.spiceTLS.isEnabled, Comment(rawValue: TestTier.spiceTLS.skipReason)))
    func tls() async throws {
        let directory = try #require(SpiceTLSRig.certificateDirectory, "qemu.conf enables SPICE TLS (scripts/spice-tls, then restart libvirtd)")
        // The certificates qemu uses, as they are (read, never written: on a real host they
        // are the host's own); a second CA made here is the wrong one.
        let right = try SpiceTLSRig.installedCertificates(in: directory)
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-wrong-ca-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        let wrong = try SpiceTLSRig.makeCertificates(in: elsewhere, commonName: "deskpool-tls-test")
        try await Self.withConsoles(tls: ["local": .init(caPEM: right.caPEM, hostSubject: right.hostSubject)]) { h, _, display, _ in
            let desktop = try await Self.assign(h, to: "alice")
            let grant = try await h.consoles.open(desktop: desktop.id, for: "alice")
            let tlsPort = try #require(Self.value("tls-port", in: grant.file), "libvirt gave the display a TLS port (spice_tls = 1)")
            #expect(Int(tlsPort) != nil)
            #expect(Self.value("port", in: grant.file) == nil, "no plain port: every channel is encrypted")
            #expect(Self.value("host-subject", in: grant.file) == right.hostSubject)
            #expect(Self.value("ca", in: grant.file)?.hasPrefix("-----BEGIN CERTIFICATE-----\\n") == true)
            let viewer = try RemoteViewer(file: try Self.write(grant.file), display: display)
            try await display.waitForText("the desktop's name over TLS", timeout: .seconds(90)) { GuestConsole.shows(name: desktop.name, on: $0) }
            try await h.wait(for: "connected over TLS", timeout: .seconds(30)) { try await Self.state(h, desktop)?.state == .connected }
            viewer.stop()
            try await h.wait(for: "disconnected", timeout: .seconds(30)) { try await Self.state(h, desktop)?.state == .disconnected }

            // The same file with another CA: the certificate check fails, nothing connects.
            let fresh = try await h.consoles.open(desktop: desktop.id, for: "alice")
            let escaped = { (pem: String) in pem.replacingOccurrences(of: "\n", with: "\\n") }
            let forged = fresh.file.text.replacingOccurrences(of: "ca=\(escaped(right.caPEM))", with: "ca=\(escaped(wrong.caPEM))")
            #expect(forged != fresh.file.text)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-wrongca-\(UUID()).vv").path
            try forged.write(toFile: path, atomically: true, encoding: .utf8)
            let refused = try RemoteViewer(file: path, display: display)
            // spice-common's own verdict on the server's certificate, then nothing at qemu.
            try await refused.waitForOutput("server certificate not being signed by the provided CA", timeout: .seconds(60))
            #expect(refused.output.contains("Error in certificate chain verification"))
            #expect(try await h.hypervisors[0].consoleClients(ofDesktop: desktop.name) == [], "qemu lists no client")
            #expect(try await Self.state(h, desktop)?.state == .disconnected, "a wrong CA connects nobody")
            refused.stop()
        }
    }
}
