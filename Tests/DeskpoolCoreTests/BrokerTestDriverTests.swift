import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import DeskpoolTesting
import Foundation
import Libvirt
import Testing

/// The broker on libvirt's test driver: two hosts (each `test:///…/test-node.xml` connection
/// has its own state, a dir pool and a golden volume), real `LibvirtHypervisor`s, a SQLite
/// store. No daemon, so it runs everywhere.
@Suite("Broker on two test-driver hosts")
struct BrokerTestDriverTests {
    static let nodeFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/test-node.xml").path
    static let templateDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("templates/tiny-linux").path

    static func withHarness(_ body: (BrokerHarness, [LibvirtHypervisor]) async throws -> Void) async throws {
        var hypervisors: [LibvirtHypervisor] = []
        for host in ["td1", "td2"] {
            let connection = try await Connection.open("test://\(nodeFile)")
            hypervisors.append(LibvirtHypervisor(host: host, connection: connection, storagePool: "images", domainType: "test"))
        }
        defer { for hypervisor in hypervisors { Task { await hypervisor.link.close() } } }
        let harness = BrokerHarness(store: try SQLiteStore.inMemory(), hypervisors: hypervisors,
                                    options: .init(hostLimits: ["td1": 4, "td2": 4], probeInterval: .milliseconds(5)))
        try await harness.admin.applyTemplate(try TemplateDefinition.load(directory: templateDirectory), actor: "admin:test")
        _ = try await harness.admin.publishVersion(template: "tiny-linux", from: .volume("golden-1.qcow2"), note: "golden", actor: "admin:test")
        try await body(harness, hypervisors)
    }

    @Test("50 concurrent requests against 20 ready desktops: 20 distinct assignments, the rest preparing or exhausted by max; no desktop twice")
    func concurrentRequests() async throws {
        try await Self.withHarness { h, hypervisors in
            try await h.admin.applyPool(PoolSpec(name: "eng", template: "tiny-linux", max: 30, spare: 20, groups: ["staff"]), actor: "admin:test")
            try await h.running {
                try await h.wait(for: "20 ready", timeout: .seconds(60)) { try await h.desktops("eng", in: [.ready]).count == 20 }
            }
            // Spread over both hosts by free memory.
            let hosts = Set(try await h.store.desktops(pool: "eng").map(\.host))
            #expect(hosts == ["td1", "td2"])
            // The reconciler is stopped: the pool cannot grow behind the requests' backs.
            let answers = try await h.requestConcurrently(pool: "eng", users: (0..<50).map { "user\($0)" }, groups: ["staff"])
            let (assigned, preparing, exhausted) = (answers.assigned, answers.preparing, answers.exhausted)
            #expect(assigned.count == 20)
            #expect(Set(assigned.map(\.id)).count == 20)
            #expect(preparing.count == 10)
            #expect(exhausted == 20)
            #expect(Set((assigned + preparing).map(\.id)).count == 30)
            let records = try await h.store.desktops(pool: "eng")
            #expect(records.count == 30)
            #expect(Set(records.compactMap(\.user)).count == 30)
            // The reservations become desktops assigned to their users once the reconciler runs.
            try await h.running {
                try await h.wait(for: "30 assigned", timeout: .seconds(60)) { try await h.desktops("eng", in: [.assigned]).count == 30 }
            }
            var domains = 0
            for hypervisor in hypervisors { domains += try await hypervisor.observe().filter { $0.identity?.pool == "eng" }.count }
            #expect(domains == 30)
        }
    }
}
