import DeskpoolCore
import DeskpoolServer
import DeskpoolStore
import DeskpoolTesting
import Foundation
import HTTPTypes
import Testing

/// Who runs what, as admins see it: `GET /api/v1/admin/replicas`, the host's owner in
/// `/api/v1/admin/hosts` and the portal's hosts page.
@Suite("API: replicas and their work")
struct ReplicasAPITests {
    @Test("a broker alone on its store: no replicas, no owners, no owner column")
    func alone() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let root = try await client.login("root")
            let view = try await client.call(.get, "/api/v1/admin/replicas", root.bearer).body.decoded(ReplicasView.self)
            #expect(view == ReplicasView(replica: nil, replicas: [], work: []))
            let hosts = try await client.call(.get, "/api/v1/admin/hosts", root.bearer).body.decoded([HostView].self)
            #expect(hosts.map(\.owner) == [nil])
            let page = try await client.call(.get, "/admin/hosts", [.cookie: "deskpool_session=\(root.cookie)"])
            #expect(page.status == .ok)
            #expect(!page.body.text.contains("Driven by"))
            let user = try await client.login("alice")
            #expect(try await client.call(.get, "/api/v1/admin/replicas", user.bearer).status == .forbidden)
        }
    }
}

/// Two replicas on one PostgreSQL store. Needs a server (`PostgresTestDatabase`).
@Suite("API: replicas on one PostgreSQL store", .serialized,
       .enabled(if: PostgresTestDatabase.runs, "no PostgreSQL server: DESKPOOL_TEST_POSTGRES is not set (scripts/postgres start)"))
struct PostgresReplicasAPITests {
    @Test("each replica says who runs the host, the pools and the rollouts, in the API and the portal")
    func owners() async throws {
        try await PostgresTestDatabase.with { settings in
            let storeOne = try await PostgresStore(settings), storeTwo = try await PostgresStore(settings)
            defer { storeOne.close(); storeTwo.close() }
            let one = try await ServerTestRig(store: storeOne, leases: .init(replica: "broker-a", duration: .seconds(2)))
            let two = try await ServerTestRig(store: storeTwo, leases: .init(replica: "broker-b", duration: .seconds(2)))
            try await one.harness.running {
                try await two.harness.running {
                    try await two.harness.wait(for: "the work shared by both", timeout: .seconds(10)) {
                        let live = try await storeTwo.leases().filter { $0.live && !$0.name.hasPrefix("replica/") }
                        return live.count == 3 && Set(live.map(\.holder)) == ["broker-a", "broker-b"]
                    }
                    try await two.test { b in
                        let root = try await b.login("root")
                        let view = try await b.call(.get, "/api/v1/admin/replicas", root.bearer).body.decoded(ReplicasView.self)
                        #expect(view.replica == "broker-b")
                        #expect(view.replicas == ["broker-a", "broker-b"])
                        #expect(view.work.map(\.work) == ["host/h1", "pools", "rollouts"])
                        let owners = Dictionary(uniqueKeysWithValues: view.work.map { ($0.work, $0.owner ?? "") })
                        #expect(Set(owners.values).isSubset(of: ["broker-a", "broker-b"]))
                        let hosts = try await b.call(.get, "/api/v1/admin/hosts", root.bearer).body.decoded([HostView].self)
                        #expect(hosts.first?.owner == owners["host/h1"])
                        let page = try await b.call(.get, "/admin/hosts", [.cookie: "deskpool_session=\(root.cookie)"]).body.text
                        #expect(page.contains("Driven by"))
                        #expect(page.contains("<td class=\"owner\">\(owners["host/h1"]!)</td>"))
                        #expect(page.contains("<tr data-work=\"pools\"><th scope=\"row\">pools</th><td class=\"owner\">\(owners["pools"]!)</td></tr>"))
                    }
                }
            }
        }
    }
}
