import DeskpoolCore
import DeskpoolServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Readiness (/readyz)")
struct ReadinessTests {
    typealias Dependency = Readiness.Dependency

    @Test("ready: the store takes writes and at least one host answers", arguments: [
        (true, [true], true),
        (true, [false, true], true),
        (true, [false, false], false),
        (true, [], false),
        (false, [true], false),
        (false, [], false),
    ])
    func rule(store: Bool, hosts: [Bool], ready: Bool) {
        let readiness = Readiness(store: Dependency(name: "store", ok: store),
                                  hosts: hosts.enumerated().map { Dependency(name: "h\($0.offset)", ok: $0.element) })
        #expect(readiness.ready == ready)
    }

    @Test("/readyz is 200 with each dependency while the host answers, 503 naming the host when it stops, 200 when it is back")
    func endpoint() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let ready = try await client.call(.get, "/readyz")
            #expect(ready.status == .ok)
            let body = try ready.body.decoded(Readiness.self)
            #expect(body.ready && body.store == Dependency(name: "store", ok: true) && body.hosts == [Dependency(name: "h1", ok: true)])

            rig.fake.setUnreachable("libvirtd stopped")
            // Answers are reused for a second (a burst of calls costs one probe): poll.
            let unready = try await Self.poll(client, until: .serviceUnavailable)
            let detail = try unready.decoded(Readiness.self)
            #expect(!detail.ready && detail.store.ok)
            #expect(detail.hosts.first?.ok == false && detail.hosts.first?.detail?.contains("away: not connected") == true)
            let health = try await client.call(.get, "/healthz")
            #expect(health.status == .ok, "liveness is not readiness")
            #expect(try health.body.decoded(Health.self).hosts == ["h1": .away], "and it says where the host stands")

            rig.fake.setUnreachable(nil)
            let back = try await Self.poll(client, until: .ok).decoded(Readiness.self)
            #expect(back.hosts.first?.ok == true)
        }
    }

    /// GETs /readyz until it answers `status` (within 10 s, generous for a loaded machine).
    static func poll(_ client: any TestClientProtocol, until status: HTTPResponse.Status) async throws -> Data {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let answer = try await client.call(.get, "/readyz")
            if answer.status == status { return answer.body }
            try #require(ContinuousClock.now < deadline, "/readyz did not answer \(status) within 10 s (last: \(answer.status))")
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
