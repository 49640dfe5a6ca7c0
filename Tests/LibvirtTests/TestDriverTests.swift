import DeskpoolLibvirt
import DeskpoolTesting
import Foundation
import Libvirt
import Testing

/// `Libvirt` against libvirt's test driver: no daemon, state inside this process.
@Suite("Libvirt on the test driver")
struct TestDriverTests {
    @Test("connection: host info, capabilities, alive, keepalive")
    func connection() async throws {
        let connection = try await Connection.open("test:///default")
        let info = try await connection.hostInfo()
        #expect(info.cpus > 0)
        #expect(info.memoryBytes > 0)
        let capabilities = try await connection.capabilities()
        #expect(try LibvirtXML.values("/capabilities/host/cpu/arch", in: capabilities).isEmpty == false)
        #expect(try await connection.libvirtVersion() >= 9_000_000)
        #expect(await connection.isAlive)
        // The test driver is local: keepalive does not apply.
        #expect(try await connection.setKeepAlive() == false)
        await connection.close()
        #expect(await connection.isAlive == false)
        await #expect(throws: LibvirtError.self) { _ = try await connection.listDomains() }
    }

    @Test("a read-only connection reads but cannot change")
    func readOnly() async throws {
        let connection = try await Connection.open("test:///default", readOnly: true)
        #expect(connection.isReadOnly)
        #expect(try await connection.listDomains().isEmpty == false)
        let error = await #expect(throws: LibvirtError.self) {
            _ = try await connection.defineDomain(xml: TestDomainXML.spiceDomain(name: "dp-readonly", type: "test", diskPath: "/x"))
        }
        #expect(error?.code == .operationDenied)
        await connection.close()
    }

    @Test("domains: define, look up, start, metadata, destroy, undefine")
    func domainLifecycle() async throws {
        let connection = try await Connection.open("test:///default")
        defer { Task { await connection.close() } }
        let name = "dp-lifecycle-\(UInt16.random(in: 0 ... .max))"
        let domain = try await connection.defineDomain(
            xml: TestDomainXML.spiceDomain(name: name, type: "test", diskPath: "/nonexistent/disk.qcow2"))
        #expect(domain.name == name)
        #expect(UUID(uuidString: domain.uuid) != nil)
        #expect(try await connection.domain(named: name).uuid == domain.uuid)
        #expect(try await connection.domain(uuid: domain.uuid).name == name)
        #expect(try await domain.state().kind == .shutoff)
        #expect(try await domain.isPersistent())

        try await domain.start()
        #expect(try await domain.state().kind == .running)
        #expect(try await domain.isActive())
        let listed = try await connection.listDomains().first { $0.domain.name == name }
        #expect(listed?.state.kind == .running)
        #expect(try await connection.allDomains().first { $0.name == name }?.uuid == domain.uuid, "every domain, in one call")

        // Metadata in a caller-given namespace: absent, set, read back, removed.
        let namespace = "https://deskpool.example/xmlns/test/1"
        #expect(try await domain.metadata(namespaceURI: namespace) == nil)
        try await domain.setMetadata("<desktop id='d-1' pool='eng'/>", key: "dp", namespaceURI: namespace)
        let metadata = try #require(try await domain.metadata(namespaceURI: namespace))
        #expect(try LibvirtXML.values("/desktop/@pool", in: metadata) == ["eng"])
        #expect(try await domain.xml().contains(namespace))
        try await domain.setMetadata(nil, key: "dp", namespaceURI: namespace)
        #expect(try await domain.metadata(namespaceURI: namespace) == nil)

        try await domain.destroy()
        #expect(try await domain.state().kind == .shutoff)
        try await domain.undefine()
        let error = await #expect(throws: LibvirtError.self) { _ = try await connection.domain(named: name) }
        #expect(error?.code == .noDomain)
    }

    @Test("lifecycle events arrive for define, start, destroy, undefine; the stream ends on close")
    func lifecycleEvents() async throws {
        let connection = try await Connection.open("test:///default")
        let events = try await connection.lifecycleEvents()
        let name = "dp-events-\(UInt16.random(in: 0 ... .max))"
        let domain = try await connection.defineDomain(
            xml: TestDomainXML.spiceDomain(name: name, type: "test", diskPath: "/nonexistent/disk.qcow2"))
        try await domain.start()
        try await domain.destroy()
        try await domain.undefine()

        let seen = try await withTimeout(.seconds(30), "lifecycle events") {
            var seen: [LifecycleEvent] = []
            for await event in events where event.domain.name == name {
                seen.append(event)
                if event.kind == .undefined { break }
            }
            return seen
        }
        #expect(seen.map(\.kind) == [.defined, .started, .stopped, .undefined])
        #expect(seen.first { $0.kind == .stopped }?.stoppedDetail == .destroyed)
        #expect(seen.allSatisfy { $0.domain.uuid == domain.uuid })

        // Closing the connection ends every stream it feeds.
        let other = try await connection.lifecycleEvents()
        await connection.close()
        try await withTimeout(.seconds(30), "the stream to end after close") {
            for await _ in other {}
        }
    }

    @Test("a stream of one domain's events sees only that domain")
    func filteredEvents() async throws {
        let connection = try await Connection.open("test:///default")
        defer { Task { await connection.close() } }
        let a = try await connection.defineDomain(xml: TestDomainXML.spiceDomain(name: "dp-filter-a", type: "test", diskPath: "/x"))
        let b = try await connection.defineDomain(xml: TestDomainXML.spiceDomain(name: "dp-filter-b", type: "test", diskPath: "/x"))
        let events = try await connection.lifecycleEvents(of: b)
        try await a.start()
        try await b.start()
        let first = try await withTimeout(.seconds(30), "an event of b") {
            var iterator = events.makeAsyncIterator()
            return await iterator.next()
        }
        #expect(first?.domain.name == "dp-filter-b")
        #expect(first?.kind == .started)
    }

    @Test("many concurrent calls over one connection")
    func concurrentCalls() async throws {
        let connection = try await Connection.open("test:///default")
        defer { Task { await connection.close() } }
        let names = (0..<40).map { "dp-concurrent-\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for name in names {
                group.addTask {
                    let domain = try await connection.defineDomain(
                        xml: TestDomainXML.spiceDomain(name: name, type: "test", diskPath: "/x"))
                    try await domain.start()
                    try await domain.destroy()
                    try await domain.undefine()
                }
            }
            try await group.waitForAll()
        }
        let left = try await connection.listDomains().map(\.domain.name).filter { $0.hasPrefix("dp-concurrent-") }
        #expect(left.isEmpty)
    }

    @Test("bad input: malformed XML, missing objects, unsupported calls give LibvirtError, not a crash")
    func badInput() async throws {
        let connection = try await Connection.open("test:///default")
        defer { Task { await connection.close() } }

        let malformed = await #expect(throws: LibvirtError.self) {
            _ = try await connection.defineDomain(xml: "<domain type='test'><name>broken</name")
        }
        // libvirt reports libxml2 parse errors as XML_DETAIL, structural ones as XML_ERROR.
        #expect(malformed.map { [.xmlError, .xmlDetail].contains($0.code) } == true)
        #expect(malformed?.message.isEmpty == false)

        let incomplete = await #expect(throws: LibvirtError.self) {
            _ = try await connection.defineDomain(xml: "<domain type='test'><memory>1024</memory></domain>")
        }
        #expect(incomplete?.code != nil && incomplete?.code != .unknown)

        let missingPool = await #expect(throws: LibvirtError.self) {
            _ = try await connection.storagePool(named: "no-such-pool")
        }
        #expect(missingPool?.code == .noStoragePool)

        let missingDomain = await #expect(throws: LibvirtError.self) {
            _ = try await connection.domain(uuid: "00000000-0000-0000-0000-0000000000ff")
        }
        #expect(missingDomain?.code == .noDomain)

        // The test driver has no guest agent and no live device update.
        let domain = try await connection.domain(named: "test")
        let agent = await #expect(throws: LibvirtError.self) {
            _ = try await domain.agentCommand(#"{"execute":"guest-ping"}"#, timeout: .seconds(1))
        }
        #expect(agent?.code == .noSupport)
        let update = await #expect(throws: LibvirtError.self) {
            try await domain.updateDevice(xml: "<graphics type='spice'/>")
        }
        #expect(update?.code == .noSupport)
    }
}
