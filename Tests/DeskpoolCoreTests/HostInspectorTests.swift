import DeskpoolCore
import DeskpoolLibvirt
import Foundation
import Libvirt
import Testing

/// The doctor's libvirt observations and `--fix` on the test driver.
@Suite("Host inspector on the test driver")
struct HostInspectorTests {
    @Test("an unreachable URI is reported with libvirt's message")
    func unreachable() async {
        var configuration = HostConfiguration()
        configuration.uri = "qemu+unix:///system?socket=/nonexistent/libvirt-sock"
        let (observation, connection) = await HostInspector(configuration: configuration).observeLibvirt()
        #expect(connection == nil)
        guard case .unreachable(_, let message) = observation else {
            Issue.record("expected unreachable, got \(observation)")
            return
        }
        #expect(message.contains("/nonexistent/libvirt-sock"))
    }

    @Test("a missing pool is missing; --fix defines and starts it; then it is active")
    func fixStoragePool() async throws {
        var configuration = HostConfiguration()
        configuration.uri = "test:///default"
        configuration.storagePool = "doctor-\(UInt16.random(in: 0 ... .max))"
        configuration.storagePath = NSTemporaryDirectory() + configuration.storagePool
        let inspector = HostInspector(configuration: configuration)
        let (observation, connection) = await inspector.observeLibvirt()
        let libvirt = try #require(connection)
        guard case .reachable = observation else { Issue.record("test driver not reachable"); return }
        #expect(await inspector.observeStoragePool(libvirt) == .missing(name: configuration.storagePool))

        let done = try await inspector.ensureStoragePool(libvirt)
        #expect(done.count == 2)
        guard case let .active(name, path, _, _) = await inspector.observeStoragePool(libvirt) else {
            Issue.record("pool not active after --fix")
            return
        }
        #expect(name == configuration.storagePool)
        #expect(path == configuration.storagePath)
        // A second --fix has nothing left to do.
        #expect(try await inspector.ensureStoragePool(libvirt).isEmpty)
        await libvirt.close()
    }
}
