import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Logging
import ServiceLifecycle
import Testing

/// `HostLink` against the real libvirtd, through a Unix socket proxy the test turns against it
/// (`SocketProxy`): the daemon's test driver over `test+unix://`, so the client's real
/// keepalive, close callback and event registrations are exercised, while the daemon the
/// other suites use is never restarted. (The fault tier of scripts/e2e restarts and freezes
/// the real libvirtd under a running broker.)
@Suite(
    "A supervised host connection through drops, refusals and a freeze", .serialized,
    .enabled(if: TestTier.realLibvirt.isEnabled, Comment(rawValue: TestTier.realLibvirt.skipReason)))
struct HostLinkTests {
    static let daemonSocket = "/run/libvirt/libvirt-sock"

    /// A hypervisor over a link through a fresh proxy, its link running as a service, for `body`.
    static func withLink(keepAlive: (Int32, UInt32) = (1, 2),
                         _ body: (SocketProxy, LibvirtHypervisor) async throws -> Void) async throws {
        let proxy = try SocketProxy(target: daemonSocket)
        defer { proxy.stop() }
        let options = HostLink.Options(backoff: .init(first: .milliseconds(200), factor: 1.5, cap: .seconds(2)),
                                       keepAliveInterval: keepAlive.0, keepAliveCount: keepAlive.1)
        // The node file of the test driver suites, read by the daemon: each connection gets its
        // own state, with the dir pool `images` and its golden image.
        let link = HostLink(host: "proxied", uri: "test+unix://\(TestDriverStorageTests.nodeFile)?socket=\(proxy.path)", options: options)
        let hypervisor = LibvirtHypervisor(host: "proxied", link: link, storagePool: "images", domainType: "test")
        let group = ServiceGroup(configuration: .init(services: [.init(service: link)], logger: Logger(label: "test.hostlink")))
        let running = Task { try await group.run() }
        defer { running.cancel() }
        try await waitFor("the link connects", within: .seconds(20)) { link.status.isConnected }
        try await body(proxy, hypervisor)
        await group.triggerGracefulShutdown()
        try await withTimeout(.seconds(10), "the link's service to end on graceful shutdown") { _ = try? await running.value }
    }

    static func waitFor(_ what: String, within limit: Duration, _ condition: @Sendable () async -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out after \(limit): \(what)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Creates and starts a Deskpool desktop (the hypervisor passes on events of its own
    /// domains only).
    static func startDesktop(_ hypervisor: LibvirtHypervisor, _ name: String) async throws {
        let base = HypervisorTestDriverTests.base
        if try await !hypervisor.volumeExists(named: base) {
            try await hypervisor.importBaseVolume(named: base, from: .volume("golden-1.qcow2"))
        }
        let template = try TemplateDefinition.load(directory: DesktopDomainXMLTests.templatesDirectory + "/tiny-linux")
        let desktop = HypervisorConformance.desktop(name, template: template)
        try await hypervisor.createDesktop(desktop, base: base, template: template)
        try await hypervisor.startDesktop(named: name)
    }

    @Test("a dropped connection fails calls at once with hypervisorUnavailable, is made again within 5 s, and events flow again on the same stream")
    func dropAndReconnect() async throws {
        try await Self.withLink { proxy, hypervisor in
            let events = EventLog()
            let stream = await hypervisor.events()
            let reader = Task { for await event in stream { events.append(event) } }
            defer { reader.cancel() }
            #expect(hypervisor.status.state == .connected)
            #expect(hypervisor.status.generation == 1)
            _ = try await hypervisor.capacity()
            try await Self.startDesktop(hypervisor, "eng-001")
            try await Self.waitFor("an event of the first connection", within: .seconds(5)) { events.contains("eng-001", .started) }

            proxy.refuse(true)
            proxy.dropAll()  // libvirtd "restarted", and is not back yet
            try await Self.waitFor("the link notices the drop", within: .seconds(5)) { hypervisor.status.state == .away }
            let clock = ContinuousClock()
            let began = clock.now
            await #expect(throws: DeskpoolError.self) { _ = try await hypervisor.capacity() }
            do throws(DeskpoolError) {
                _ = try await hypervisor.observe()
                Issue.record("observe worked on a host that is away")
            } catch {
                #expect(error.code == .hypervisorUnavailable, "\(error)")
                #expect(error.retryAfterSeconds != nil)
                #expect(!error.message.contains("socket"), "libvirt's own text stays in the log: \(error.message)")
            }
            #expect(clock.now - began < .milliseconds(500), "a host that is away is answered at once, not waited for")
            let refusedBefore = proxy.accepted
            // Its backoff starts at a fraction of a second: a second attempt comes within about
            // two, later on a machine busy with other suites.
            try await Self.waitFor("the link to keep trying", within: .seconds(10)) { hypervisor.status.failedAttempts >= 2 }
            #expect(proxy.accepted == refusedBefore, "refused attempts never got through")

            let back = clock.now
            proxy.refuse(false)  // libvirtd answers again
            try await Self.waitFor("the link connects again", within: .seconds(5)) { hypervisor.status.isConnected }
            #expect(clock.now - back < .seconds(5))
            #expect(hypervisor.status.state == .recovering, "connected again, its recovery pass not run yet")
            #expect(hypervisor.status.generation == 2)
            try await Self.waitFor("the stream says the host is connected again", within: .seconds(5)) {
                events.all.contains { $0.kind == .hostConnected(generation: 2) }
            }
            // The new connection's events reach the stream the consumer already had.
            try await Self.startDesktop(hypervisor, "eng-002")
            try await Self.waitFor("an event of the new connection", within: .seconds(5)) { events.contains("eng-002", .started) }
            hypervisor.recovered(generation: 1)
            #expect(hypervisor.status.state == .recovering, "a recovery pass of an older connection changes nothing")
            hypervisor.recovered(generation: 2)
            #expect(hypervisor.status.state == .connected)

            // And again: the link keeps supervising after a reconnect.
            proxy.dropAll()
            try await Self.waitFor("a second reconnect", within: .seconds(5)) { hypervisor.status.generation == 3 && hypervisor.status.isConnected }
            try await Self.startDesktop(hypervisor, "eng-003")
            try await Self.waitFor("an event of the third connection", within: .seconds(5)) { events.contains("eng-003", .started) }
        }
    }

    @Test("a frozen daemon (nothing answers, sockets open) is found out by keepalive, and the link connects once it thaws")
    func freeze() async throws {
        try await Self.withLink(keepAlive: (1, 2)) { proxy, hypervisor in
            let clock = ContinuousClock()
            let frozen = clock.now
            proxy.freeze(true)
            // Calls blocked on the frozen daemon while the link closes the connection: they
            // must fail, not touch a freed connection (this crashed the broker once).
            let blocked = (0..<4).map { _ in Task { try? await hypervisor.observe() } }
            try await Self.waitFor("keepalive drops the frozen connection", within: .seconds(10)) { hypervisor.status.state == .away }
            for call in blocked { _ = await call.value }
            #expect(clock.now - frozen < .seconds(8), "found out within about interval × (count + 1)")
            await #expect(throws: DeskpoolError.self) { _ = try await hypervisor.capacity() }
            try await Task.sleep(for: .seconds(1))
            let thawed = clock.now
            proxy.freeze(false)
            try await Self.waitFor("the link connects after the thaw", within: .seconds(8)) { hypervisor.status.isConnected }
            #expect(clock.now - thawed < .seconds(5))
            _ = try await hypervisor.capacity()
        }
    }

    @Test("a link whose host is down at start reports connecting, retries with backoff, and connects when the host comes")
    func startWithHostDown() async throws {
        let proxy = try SocketProxy(target: Self.daemonSocket)
        defer { proxy.stop() }
        proxy.refuse(true)
        let link = HostLink(host: "late", uri: "test+unix:///default?socket=\(proxy.path)",
                            options: .init(backoff: .init(first: .milliseconds(200), factor: 2, cap: .seconds(1))))
        #expect(await !link.connectOnce(within: .seconds(5)), "the first attempt fails")
        #expect(link.status.state == .connecting)
        #expect(link.status.lastError?.contains("cannot connect") == true)
        #expect(throws: LibvirtError.self) { _ = try link.connection() }
        let group = ServiceGroup(configuration: .init(services: [.init(service: link)], logger: Logger(label: "test.hostlink")))
        let running = Task { try await group.run() }
        defer { running.cancel() }
        try await Task.sleep(for: .seconds(2))
        #expect(link.status.failedAttempts >= 3, "retries while the host is down: \(link.status)")
        proxy.refuse(false)
        try await Self.waitFor("the link connects once the host answers", within: .seconds(5)) { link.status.isConnected }
        #expect(link.status.state == .connected, "a first connection needs no recovery pass")
        #expect(link.status.generation == 1)
        await group.triggerGracefulShutdown()
        try await withTimeout(.seconds(10), "the link's service to end") { _ = try? await running.value }
    }

    @Test("graceful shutdown ends the link at once even while a connection attempt hangs on a frozen daemon")
    func shutdownWhileFrozen() async throws {
        let proxy = try SocketProxy(target: Self.daemonSocket)
        defer { proxy.stop() }
        proxy.freeze(true)
        let link = HostLink(host: "frozen", uri: "test+unix:///default?socket=\(proxy.path)")
        let group = ServiceGroup(configuration: .init(services: [.init(service: link)], logger: Logger(label: "test.hostlink")))
        let running = Task { try await group.run() }
        defer { running.cancel() }
        try await Task.sleep(for: .seconds(1))
        #expect(!link.status.isConnected)
        let clock = ContinuousClock()
        let asked = clock.now
        await group.triggerGracefulShutdown()
        try await withTimeout(.seconds(5), "the link's service to end") { _ = try? await running.value }
        #expect(clock.now - asked < .seconds(2))
        proxy.freeze(false)  // the abandoned attempt completes; its connection is closed
    }
}
