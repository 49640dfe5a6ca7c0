import DeskpoolCore
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Testing

/// Console tickets, `.vv` files, the gateway's directory and session tracking on the fake
/// hypervisor and a real SQLite store. The same flows run on qemu:///system with
/// remote-viewer in `ConsoleQemuTests`.
@Suite("Consoles and sessions on a fake hypervisor")
struct ConsoleBrokerTests {
    static let template = TemplateDefinition(name: "tiny", vcpus: 1, memoryMiB: 256, bootTimeoutSeconds: 5, domainXML: "<domain/>")

    static func harness(_ fake: FakeHypervisor, gateway: GatewayConfiguration? = nil) async throws -> BrokerHarness {
        let harness = BrokerHarness(store: try SQLiteStore.inMemory(), hypervisors: [fake],
                                    options: .init(probeInterval: .milliseconds(5)), gateway: gateway)
        try await harness.admin.applyTemplate(template, actor: "admin:test")
        _ = try await harness.admin.publishVersion(template: "tiny", from: .file("/images/tiny.qcow2"), note: "first", actor: "admin:test")
        return harness
    }

    static func pool(_ assignment: PoolSpec.Assignment = .floating, configure: (inout PoolSpec) -> Void = { _ in }) -> PoolSpec {
        var pool = PoolSpec(name: "eng", template: "tiny", assignment: assignment, max: 4, spare: 1, naming: NamePattern("eng-{n:03}"), users: ["alice", "bob"])
        configure(&pool)
        return pool
    }

    /// Runs the broker, waits for a ready desktop and assigns it to alice.
    static func withAssigned<T: Sendable>(_ h: BrokerHarness, _ body: @Sendable (Desktop) async throws -> T) async throws -> T {
        try await h.running {
            try await h.wait(for: "a ready desktop", timeout: .seconds(10)) { try await !h.desktops("eng", in: [.ready]).isEmpty }
            // The reconciler and the session service listen to the host's events.
            try await h.wait(for: "the services listening", timeout: .seconds(10)) {
                h.hypervisors.allSatisfy { ($0 as? FakeHypervisor).map { $0.eventSubscribers >= 2 } ?? true }
            }
            guard case .assigned(let desktop) = try await h.broker.request(.init(user: "alice"), pool: "eng") else {
                throw TimeoutError(what: "an assigned desktop", duration: .zero)
            }
            return try await body(desktop)
        }
    }

    static func value(_ key: String, in file: VirtViewerFile) -> String? { file.entries.first { $0.key == key }?.value }

    @Test("a console request sets a fresh ticket valid for the pool's ticket time and returns a direct .vv")
    func ticketAndFile() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await h.admin.applyPool(Self.pool { $0.console.ticketSeconds = 45 }, actor: "admin:test")
        try await Self.withAssigned(h) { desktop in
            let before = Date()
            let grant = try await h.consoles.open(desktop: desktop.id, for: "alice")
            let set = try #require(fake.consolePassword(of: desktop.name))
            #expect(Self.value("password", in: grant.file) == set.ticket.secret)
            #expect(abs(set.validUntil.timeIntervalSince(before) - 45) < 2)
            #expect(Self.value("host", in: grant.file) == "127.0.0.1")
            #expect(Self.value("port", in: grant.file).flatMap(Int.init).map { $0 >= 5900 } == true)
            #expect(Self.value("proxy", in: grant.file) == nil)
            #expect(Self.value("title", in: grant.file) == "\(desktop.name) (eng) - Deskpool")
            // A second request mints another ticket and (takeover: disconnect) drops the first client.
            let second = try await h.consoles.open(desktop: desktop.id, for: "alice")
            #expect(Self.value("password", in: second.file) != Self.value("password", in: grant.file))
            #expect(fake.kicks(of: desktop.name) == 2)
            // The ticket never reaches the audit log.
            let audit = try await h.store.auditLog(subject: "desktop/\(desktop.name)", limit: 50)
            #expect(audit.contains { $0.action == "console.open" })
            #expect(!audit.contains { "\($0)".contains(set.ticket.secret) })
        }
    }

    @Test("another user's desktop, or a desktop not in a session, gives no console")
    func authorization() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await h.admin.applyPool(Self.pool { $0.spare = 2 }, actor: "admin:test")
        try await Self.withAssigned(h) { desktop in
            await #expect(throws: DeskpoolError.self) { _ = try await h.consoles.open(desktop: desktop.id, for: "bob") }
            let ready = try #require(try await h.desktops("eng", in: [.ready]).first)
            let error = await #expect(throws: DeskpoolError.self) { _ = try await h.consoles.open(desktop: ready.id, for: "alice") }
            #expect(error?.code == .notFound)
            #expect(fake.consolePassword(of: ready.name) == nil)
        }
    }

    @Test("takeover refuse: a second request while connected is refused and the first client keeps its console")
    func takeoverRefused() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await h.admin.applyPool(Self.pool { $0.console.takeover = .refuse }, actor: "admin:test")
        try await Self.withAssigned(h) { desktop in
            let first = try await h.consoles.open(desktop: desktop.id, for: "alice")
            #expect(fake.kicks(of: desktop.name) == 0)
            fake.emit(desktop.name, .console(.connect, client: "10.1.1.1:40000"))
            fake.emit(desktop.name, .console(.initialize, client: "10.1.1.1:40000"))
            try await h.wait(for: "connected", timeout: .seconds(5)) { try await h.store.desktop(id: desktop.id)?.state == .connected }
            let error = await #expect(throws: DeskpoolError.self) { _ = try await h.consoles.open(desktop: desktop.id, for: "alice") }
            #expect(error?.code == .conflict)
            #expect(fake.consolePassword(of: desktop.name)?.ticket.secret == Self.value("password", in: first.file))
        }
    }

    @Test("through the gateway: the .vv's host is a signed token for this desktop and session, the directory routes it until logoff")
    func gatewayToken() async throws {
        let fake = FakeHypervisor(host: "a")
        var gateway = GatewayConfiguration()
        gateway.publicAddresses = [.init(networks: [try #require(IPNetwork("192.168.0.0/16"))], proxy: "http://gw.lan:3128")]
        let h = try await Self.harness(fake, gateway: gateway)
        try await h.admin.applyPool(Self.pool { $0.console.usbRedirection = true }, actor: "admin:test")
        try await Self.withAssigned(h) { desktop in
            let lan = try await h.consoles.open(desktop: desktop.id, for: "alice", clientAddress: "192.168.7.9")
            #expect(Self.value("proxy", in: lan.file) == "http://gw.lan:3128")
            let other = try await h.consoles.open(desktop: desktop.id, for: "alice", clientAddress: "10.9.9.9")
            #expect(Self.value("proxy", in: other.file) == "http://127.0.0.1:8081")
            let text = try #require(Self.value("host", in: other.file))
            let token = try ConnectToken.verify(text, key: h.tokenKey, now: Date())
            let current = try #require(try await h.store.desktop(id: desktop.id))
            #expect(token.desktop == desktop.id && token.session == current.sessionID)
            let route = try await h.directory.route(for: token)
            #expect(route.address == "127.0.0.1")
            #expect(route.ports == [try #require(Self.value("port", in: other.file).flatMap(Int.init))])
            #expect(route.forbiddenChannels == [.smartcard])
            try await h.broker.logoff(desktop: desktop.id, by: "alice")
            await #expect(throws: DeskpoolError.self) { _ = try await h.directory.route(for: token) }
        }
    }

    @Test("a browser console: a fresh 8-character password on the browser display, a token the directory routes to that display until logoff")
    func browserConsole() async throws {
        let fake = FakeHypervisor(host: "a")
        var gateway = GatewayConfiguration()
        gateway.publicAddresses = [.init(networks: [try #require(IPNetwork("192.168.0.0/16"))], proxy: "http://gw.lan:3128")]
        let h = try await Self.harness(fake, gateway: gateway)
        try await h.admin.applyPool(Self.pool { $0.console.ticketSeconds = 45 }, actor: "admin:test")
        try await Self.withAssigned(h) { desktop in
            let before = Date()
            let grant = try await h.consoles.openBrowser(desktop: desktop.id, for: "alice", clientAddress: "192.168.1.2")
            let set = try #require(fake.browserPassword(of: desktop.name))
            #expect(grant.password == set.password && grant.password.secret.count == 8)
            #expect(abs(set.validUntil.timeIntervalSince(before) - 45) < 2)
            #expect(grant.relayHost == "gw.lan" && grant.relayPort == 3128, "the public address for the client's network")
            #expect(fake.kicks(of: desktop.name) == 1, "a SPICE client connected now is dropped (takeover: disconnect)")
            let local = try await h.consoles.openBrowser(desktop: desktop.id, for: "alice", clientAddress: "10.1.1.1")
            #expect(local.relayHost == nil && local.relayPort == 8081, "no public address: the page's own host, the gateway's port")
            #expect(local.password != grant.password)
            let token = try ConnectToken.verify(grant.token, key: h.tokenKey, now: Date())
            let route = try await h.directory.route(for: token)
            #expect(route.browserPort == grant.displayPort && !route.ports.contains(grant.displayPort))
            #expect(await h.directory.endedSessions(among: [token]).isEmpty)
            // Neither the password nor the token reaches the audit log.
            let audit = try await h.store.auditLog(subject: "desktop/\(desktop.name)", limit: 50)
            #expect(audit.contains { $0.action == "console.open" && $0.detail.contains("browser") })
            #expect(!audit.contains { "\($0)".contains(grant.password.secret) || "\($0)".contains(grant.token) })
            try await h.broker.logoff(desktop: desktop.id, by: "alice")
            #expect(await h.directory.endedSessions(among: [token]) == [token], "the gateway closes it at logoff")
            await #expect(throws: DeskpoolError.self) { _ = try await h.consoles.openBrowser(desktop: desktop.id, for: "alice") }
        }
    }

    @Test("browser consoles are refused without the gateway, for a pool that turned them off, and for another user")
    func browserRefusals() async throws {
        let fake = FakeHypervisor(host: "a")
        let direct = try await Self.harness(fake)
        try await direct.admin.applyPool(Self.pool(), actor: "admin:test")
        try await Self.withAssigned(direct) { desktop in
            let error = await #expect(throws: DeskpoolError.self) { _ = try await direct.consoles.openBrowser(desktop: desktop.id, for: "alice") }
            #expect(error?.code == .conflict && error?.message.contains("gateway") == true)
            #expect(fake.browserPassword(of: desktop.name) == nil, "nothing set on the display")
        }
        let other = FakeHypervisor(host: "a")
        let h = try await Self.harness(other, gateway: GatewayConfiguration())
        try await h.admin.applyPool(Self.pool { $0.console.browser = false }, actor: "admin:test")
        try await Self.withAssigned(h) { desktop in
            let off = await #expect(throws: DeskpoolError.self) { _ = try await h.consoles.openBrowser(desktop: desktop.id, for: "alice") }
            #expect(off?.code == .notEntitled)
            let request = await #expect(throws: DeskpoolError.self) {
                _ = try await h.core.requestDesktop(.init(user: "bob"), pool: "eng", console: .browser)
            }
            #expect(request?.code == .notEntitled, "refused before a desktop is claimed")
            let waiting = try await h.desktops("eng", in: [.ready, .provisioning])
            #expect(waiting.allSatisfy { $0.user == nil })
            let theirs = await #expect(throws: DeskpoolError.self) { _ = try await h.consoles.openBrowser(desktop: desktop.id, for: "bob") }
            #expect(theirs?.code == .notFound || theirs?.code == .notEntitled)
            #expect(other.browserPassword(of: desktop.name) == nil)
        }
    }

    @Test("console events: connected with the real client behind the gateway, disconnected after the debounce, refused tickets audited")
    func tracking() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await h.admin.applyPool(Self.pool { $0.session.disconnectTimeoutSeconds = 0 }, actor: "admin:test")
        try await Self.withAssigned(h) { desktop in
            h.addresses.record(gatewaySocket: "127.0.0.1:50001", client: "203.0.113.7:61000")
            for phase in [ConsolePhase.connect, .initialize] { fake.emit(desktop.name, .console(phase, client: "127.0.0.1:50001")) }
            try await h.wait(for: "connected", timeout: .seconds(5)) { try await h.store.desktop(id: desktop.id)?.state == .connected }
            #expect(try await h.store.desktop(id: desktop.id)?.client == "203.0.113.7:61000")
            fake.emit(desktop.name, .console(.disconnect, client: "127.0.0.1:50001"))
            let closed = Date()
            try await h.wait(for: "disconnected", timeout: .seconds(5)) { try await h.store.desktop(id: desktop.id)?.state == .disconnected }
            #expect(Date().timeIntervalSince(closed) >= 0.3, "not before the debounce")
            // A channel that never initialized: a refused ticket.
            fake.emit(desktop.name, .console(.connect, client: "198.51.100.4:1234"))
            fake.emit(desktop.name, .console(.disconnect, client: "198.51.100.4:1234"))
            try await h.wait(for: "the security event", timeout: .seconds(5)) {
                try await h.store.auditLog(subject: "desktop/\(desktop.name)", limit: 50).contains { $0.action == "console.refused" && $0.actor == "client:198.51.100.4:1234" }
            }
        }
    }

    @Test("a desktop refreshed while its client was still on (no disconnect event comes from a destroyed qemu): its next user, same domain name, is connected")
    func refreshedWhileConnected() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await h.admin.applyPool(Self.pool { $0.max = 1 }, actor: "admin:test")
        try await Self.withAssigned(h) { desktop in
            for phase in [ConsolePhase.connect, .initialize] { fake.emit(desktop.name, .console(phase, client: "10.0.0.1:1")) }
            try await h.wait(for: "alice connected", timeout: .seconds(5)) { try await h.store.desktop(id: desktop.id)?.state == .connected }
            // Logged off with the viewer still open: the domain is destroyed under it.
            _ = try await h.broker.logoff(desktop: desktop.id, by: "alice")
            try await h.wait(for: "the desktop refreshed", timeout: .seconds(10)) {
                try await h.desktops("eng", in: [.ready]).contains { $0.name == desktop.name }
            }
            guard case .assigned(let again) = try await h.broker.request(.init(user: "bob"), pool: "eng") else {
                throw TimeoutError(what: "bob's desktop", duration: .zero)
            }
            #expect(again.name == desktop.name, "the pool's one desktop, under its name")
            for phase in [ConsolePhase.connect, .initialize] { fake.emit(again.name, .console(phase, client: "10.0.0.2:1")) }
            try await h.wait(for: "bob connected", timeout: .seconds(5)) { try await h.store.desktop(id: again.id)?.state == .connected }
            #expect(try await h.store.desktop(id: again.id)?.client == "10.0.0.2:1")
        }
    }

    @Test("a broker restarted while users were connected: a session whose client left meanwhile is disconnected at start, one still connected stays; so after a host reconnect")
    func staleSessions() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await h.admin.applyPool(Self.pool { $0.spare = 2 }, actor: "admin:test")
        let (gone, kept) = try await h.running {
            try await h.wait(for: "two ready desktops", timeout: .seconds(10)) { try await h.desktops("eng", in: [.ready]).count == 2 }
            guard case .assigned(let first) = try await h.broker.request(.init(user: "alice"), pool: "eng"),
                  case .assigned(let second) = try await h.broker.request(.init(user: "bob"), pool: "eng") else {
                throw TimeoutError(what: "two assigned desktops", duration: .zero)
            }
            for (desktop, client) in [(first, "10.0.0.1:1"), (second, "10.0.0.2:1")] {
                for phase in [ConsolePhase.connect, .initialize] { fake.emit(desktop.name, .console(phase, client: client)) }
            }
            try await h.wait(for: "both connected", timeout: .seconds(5)) {
                try await h.store.desktops(pool: "eng").filter { $0.state == .connected }.count == 2
            }
            return (first, second)
        }
        // The broker is down; alice's viewer goes away meanwhile (no event is seen).
        fake.dropConsoleClientsSilently(of: gone.name)
        try await h.running {
            try await h.wait(for: "alice's session disconnected at start", timeout: .seconds(5)) {
                try await h.store.desktop(id: gone.id)?.state == .disconnected
            }
            #expect(try await h.store.desktop(id: kept.id)?.state == .connected, "bob's client is still there")
            // The host's connection drops; bob's viewer leaves meanwhile; the host comes back.
            fake.setUnreachable("libvirtd restarted")
            fake.dropConsoleClientsSilently(of: kept.name)
            fake.setUnreachable(nil)
            try await h.wait(for: "bob's session disconnected after the reconnect", timeout: .seconds(5)) {
                try await h.store.desktop(id: kept.id)?.state == .disconnected
            }
        }
    }

    @Test("disconnect timeout: a floating desktop is refreshed, a dedicated one kept with its console revoked")
    func disconnectTimeout() async throws {
        for assignment in [PoolSpec.Assignment.floating, .dedicated] {
            let fake = FakeHypervisor(host: "a")
            let h = try await Self.harness(fake)
            try await h.admin.applyPool(Self.pool(assignment) { $0.session.disconnectTimeoutSeconds = 1 }, actor: "admin:test")
            try await Self.withAssigned(h) { desktop in
                _ = try await h.consoles.open(desktop: desktop.id, for: "alice")
                let kicks = fake.kicks(of: desktop.name)
                for phase in [ConsolePhase.connect, .initialize, .disconnect] { fake.emit(desktop.name, .console(phase, client: "10.0.0.1:1")) }
                try await h.wait(for: "disconnected", timeout: .seconds(5)) { try await h.store.desktop(id: desktop.id)?.state == .disconnected }
                try await h.wait(for: "the logoff action", timeout: .seconds(10)) {
                    let d = try await h.store.desktop(id: desktop.id)
                    return assignment == .floating ? d?.user == nil : (d?.state == .assigned && d?.sessionID == nil)
                }
                let audit = try await h.store.auditLog(subject: "desktop/\(desktop.name)", limit: 50).map(\.detail)
                if assignment == .dedicated {
                    let after = try #require(try await h.store.desktop(id: desktop.id))
                    #expect(after.user == "alice")
                    #expect(fake.kicks(of: desktop.name) == kicks + 1, "the console was revoked")
                    #expect(audit.contains { $0.contains("disconnected -> assigned") && $0.contains("disconnected for more than 1 s") })
                } else {
                    // Refreshed, and then (one spare too many) possibly retired.
                    #expect(audit.contains { $0.contains("disconnected -> refreshing") && $0.contains("disconnected for more than 1 s") })
                }
            }
        }
    }

    @Test("logoff action shutdown: a dedicated desktop is shut down at the disconnect timeout, stays its user's, and starts again at their next request")
    func shutdownAtLogoff() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await h.admin.applyPool(Self.pool(.dedicated) {
            $0.session.disconnectTimeoutSeconds = 1
            $0.session.logoffAction = .shutdown
        }, actor: "admin:test")
        try await Self.withAssigned(h) { desktop in
            for phase in [ConsolePhase.connect, .initialize, .disconnect] { fake.emit(desktop.name, .console(phase, client: "10.0.0.1:1")) }
            try await h.wait(for: "off", timeout: .seconds(10)) { try await h.store.desktop(id: desktop.id)?.state == .off }
            let off = try #require(try await h.store.desktop(id: desktop.id))
            #expect(off.user == "alice" && off.sessionID == nil && off.incarnation == desktop.incarnation)
            #expect(!fake.isRunning(desktop.name) && fake.domainNames().contains(desktop.name), "shut down, not destroyed")
            await #expect(throws: DeskpoolError.self) { _ = try await h.consoles.open(desktop: desktop.id, for: "alice") }
            // Nobody else gets it, and the spare stays a spare.
            guard case .preparing(let again, _) = try await h.broker.request(.init(user: "alice"), pool: "eng") else {
                throw TimeoutError(what: "preparing", duration: .zero)
            }
            #expect(again.id == desktop.id && again.state == .starting)
            try await h.wait(for: "assigned again", timeout: .seconds(10)) { try await h.store.desktop(id: desktop.id)?.state == .assigned }
            #expect(fake.isRunning(desktop.name))
            let back = try #require(try await h.store.desktop(id: desktop.id))
            #expect(back.sessionID != nil && back.sessionStartedAt != nil)
            _ = try await h.consoles.open(desktop: desktop.id, for: "alice")
        }
    }

    @Test("the longest session: the user is warned on the desktop, then logged off at the limit")
    func longestSession() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        // The warning is due in the last 5 s of a 6 s session: a window several reviews wide
        // (0.2 s apart), also when a loaded machine runs one late (a review past the limit logs
        // off without warning, as it should).
        try await h.admin.applyPool(Self.pool {
            $0.session.maxSessionSeconds = 6
            $0.session.warningSeconds = 5
        }, actor: "admin:test")
        try await Self.withAssigned(h) { desktop in
            try await h.wait(for: "the warning", timeout: .seconds(10)) { !fake.messages(on: desktop.name).isEmpty }
            #expect(fake.messages(on: desktop.name).count == 1)
            #expect(fake.messages(on: desktop.name).first?.hasPrefix("Deskpool: this session ends in") == true)
            #expect(try await h.store.desktop(id: desktop.id)?.user == "alice", "warned, not yet logged off")
            try await h.wait(for: "the logoff", timeout: .seconds(10)) { try await h.store.desktop(id: desktop.id)?.user == nil }
            let audit = try await h.store.auditLog(subject: "desktop/\(desktop.name)", limit: 50)
            #expect(audit.contains { $0.action == "session.warn" })
            #expect(audit.contains { $0.detail.contains("the session reached its limit of 6 s") })
            #expect(fake.messages(on: desktop.name).count == 1, "warned once")
        }
    }

    @Test("an assigned desktop nobody connects to is released after the unconnected timeout")
    func unconnectedTimeout() async throws {
        let fake = FakeHypervisor(host: "a")
        let h = try await Self.harness(fake)
        try await h.admin.applyPool(Self.pool { $0.session.unconnectedTimeoutSeconds = 1 }, actor: "admin:test")
        try await Self.withAssigned(h) { desktop in
            try await h.wait(for: "released", timeout: .seconds(10)) { try await h.store.desktop(id: desktop.id)?.user == nil }
            let audit = try await h.store.auditLog(subject: "desktop/\(desktop.name)", limit: 50).map(\.detail)
            #expect(audit.contains { $0.contains("nobody connected within 1 s") })
        }
    }
}
