import DeskpoolCore
import DeskpoolServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("API: admin endpoints")
struct AdminAPITests {
    /// Every admin endpoint, with a body where it takes one.
    static let endpoints: [(HTTPRequest.Method, String)] = [
        (.get, "/api/v1/admin/templates"), (.get, "/api/v1/admin/templates/tiny"), (.put, "/api/v1/admin/templates/tiny"),
        (.post, "/api/v1/admin/templates/tiny/versions"), (.delete, "/api/v1/admin/templates/tiny/versions/1"),
        (.get, "/api/v1/admin/pools"), (.post, "/api/v1/admin/pools"), (.get, "/api/v1/admin/pools/eng"), (.put, "/api/v1/admin/pools/eng"),
        (.post, "/api/v1/admin/pools/eng/scale"), (.put, "/api/v1/admin/pools/eng/entitlements"), (.delete, "/api/v1/admin/pools/eng"),
        (.get, "/api/v1/admin/desktops"), (.get, "/api/v1/admin/desktops/x"), (.post, "/api/v1/admin/desktops/x/reboot"),
        (.post, "/api/v1/admin/desktops/x/refresh"), (.delete, "/api/v1/admin/desktops/x"), (.post, "/api/v1/admin/desktops/x/assign"),
        (.post, "/api/v1/admin/desktops/x/unassign"), (.get, "/api/v1/admin/sessions"), (.delete, "/api/v1/admin/sessions/x"),
        (.get, "/api/v1/admin/hosts"), (.get, "/api/v1/admin/audit"),
    ]

    @Test("every admin endpoint: 401 without a session, 403 for a user who is not an admin; nothing changes")
    func authorization() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                let before = try await rig.harness.store.pools()
                for (method, path) in Self.endpoints {
                    let anonymous = try await client.call(method, path, raw: method == .get ? nil : "{}")
                    #expect(anonymous.status == .unauthorized, "\(method) \(path) without a session")
                    let user = try await client.call(method, path, alice.bearer, raw: method == .get ? nil : "{}")
                    #expect(user.status == .forbidden, "\(method) \(path) as alice")
                    #expect(user.body.errorCode == "forbidden")
                }
                #expect(try await rig.harness.store.pools() == before)
            }
        }
    }

    @Test("pools: spare as auto with saved spares through the API; scale sets a fixed number and keeps the saved ones")
    func sparesForms() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let root = try await client.login("root")
            let body = #"{"name":"art","template":"tiny","max":5,"spare":{"running":"auto","saved":1},"forecast":{"weeks":2,"buffer":2}}"#
            let created = try await client.call(.post, "/api/v1/admin/pools", root.bearer, raw: body)
            #expect(created.status == .created, "\(created.body.text)")
            let spec = try created.body.decoded(PoolView.self).spec
            #expect(spec.forecast == SpareForecastSettings(weeks: 2, minutes: 30, buffer: 2) && spec.savedSpare == 1)
            #expect(created.body.text.contains(#""spare":{"running":"auto","saved":1}"#), "\(created.body.text)")
            let scaled = try await client.call(.post, "/api/v1/admin/pools/art/scale", root.bearer, json: ScaleRequest(spare: 2))
            let fixed = try scaled.body.decoded(PoolView.self).spec
            #expect(fixed.forecast == nil && fixed.spare == 2 && fixed.savedSpare == 1)
            // Saved spares alone: the running ones stay.
            let saved = try await client.call(.post, "/api/v1/admin/pools/art/scale", root.bearer, raw: #"{"saved":3}"#)
            let resized = try saved.body.decoded(PoolView.self).spec
            #expect(saved.status == .ok && resized.savedSpare == 3 && resized.spare == 2, "\(saved.body.text)")
            // Beyond max with the running ones, or negative: refused, nothing changed.
            let over = try await client.call(.post, "/api/v1/admin/pools/art/scale", root.bearer, json: ScaleRequest(saved: 4))
            #expect(over.status == .badRequest && over.body.text.contains("running and saved spares (2 + 4) must not exceed max (5)"), "\(over.body.text)")
            #expect(try await client.call(.post, "/api/v1/admin/pools/art/scale", root.bearer, json: ScaleRequest(saved: -1)).status == .badRequest)
            // A number that would overflow the sum (schemathesis sent it, and the broker trapped).
            let huge = try await client.call(.post, "/api/v1/admin/pools/art/scale", root.bearer, raw: #"{"spare":3,"saved":9223372036854775806}"#)
            #expect(huge.status == .badRequest && huge.body.errorCode == "invalidInput", "\(huge.body.text)")
            let hugePool = #"{"name":"huge","template":"tiny","max":5,"spare":{"running":1,"saved":9223372036854775807}}"#
            let hugePoolAnswer = try await client.call(.post, "/api/v1/admin/pools", root.bearer, raw: hugePool)
            #expect(hugePoolAnswer.status == .badRequest && hugePoolAnswer.body.text.contains("running and saved spares"), "\(hugePoolAnswer.body.text)")
            let hugeEntry = #"{"name":"huge","template":"tiny","max":5,"schedule":[{"days":["mon"],"from":"08:00","to":"18:00","spare":1,"saved":9223372036854775807}]}"#
            let hugeEntryAnswer = try await client.call(.post, "/api/v1/admin/pools", root.bearer, raw: hugeEntry)
            #expect(hugeEntryAnswer.status == .badRequest && hugeEntryAnswer.body.text.contains("running and saved spares"), "\(hugeEntryAnswer.body.text)")
            let after = try await client.call(.get, "/api/v1/admin/pools/art", root.bearer).body.decoded(PoolView.self).spec
            #expect(after.savedSpare == 3 && after.spare == 2)
            let tooMany = #"{"name":"big","template":"tiny","max":2,"spare":{"running":2,"saved":1}}"#
            let refused = try await client.call(.post, "/api/v1/admin/pools", root.bearer, raw: tooMany)
            #expect(refused.status == .badRequest && refused.body.text.contains("running and saved spares (2 + 1) must not exceed max (2)"))
            let lone = #"{"name":"big","template":"tiny","forecast":{"weeks":2}}"#
            #expect(try await client.call(.post, "/api/v1/admin/pools", root.bearer, raw: lone).status == .badRequest)
        }
    }

    @Test("pools: create, read, update, scale, entitle, list with capacity, delete with drain")
    func pools() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let root = try await client.login("root")
            let spec = PoolSpec(name: "art", template: "tiny", max: 3, spare: 1, naming: NamePattern("art-{n:02}"), users: ["carol"])
            let created = try await client.call(.post, "/api/v1/admin/pools", root.bearer, json: spec)
            #expect(created.status == .created)
            #expect(try created.body.decoded(PoolView.self).spec.generation == 1)
            #expect(try await client.call(.post, "/api/v1/admin/pools", root.bearer, json: spec).body.errorCode == "alreadyExists")

            let changed = { var c = spec; c.max = 5; return c }()
            let put = try await client.call(.put, "/api/v1/admin/pools/art", root.bearer, json: changed)
            #expect(try put.body.decoded(PoolView.self).spec.generation == 2)
            let mismatch = try await client.call(.put, "/api/v1/admin/pools/other", root.bearer, json: changed)
            #expect(mismatch.status == .badRequest && mismatch.body.text.contains("\"field\":\"name\""))

            let scaled = try await client.call(.post, "/api/v1/admin/pools/art/scale", root.bearer, json: ScaleRequest(spare: 2))
            #expect(try scaled.body.decoded(PoolView.self).spec.spare == 2)
            let badScale = try await client.call(.post, "/api/v1/admin/pools/art/scale", root.bearer, json: ScaleRequest(min: 9))
            #expect(badScale.status == .badRequest && badScale.body.errorCode == "invalidInput")
            #expect(try await client.call(.post, "/api/v1/admin/pools/art/scale", root.bearer, raw: "{}").status == .badRequest)

            let entitled = try await client.call(.put, "/api/v1/admin/pools/art/entitlements", root.bearer,
                                                 json: EntitlementsRequest(users: ["bob"], groups: ["staff"]))
            #expect(try entitled.body.decoded(PoolView.self).spec.groups == ["staff"])
            let badGroup = try await client.call(.put, "/api/v1/admin/pools/art/entitlements", root.bearer,
                                                 json: EntitlementsRequest(users: [], groups: ["no such; group"]))
            #expect(badGroup.status == .badRequest)

            try await rig.harness.running {
                try await rig.harness.wait(for: "2 ready", timeout: .seconds(10)) { try await rig.harness.desktops("art", in: [.ready]).count == 2 }
                let list = try await client.call(.get, "/api/v1/admin/pools", root.bearer).body.decoded([PoolView].self)
                #expect(list.first?.capacity.ready == 2 && list.first?.capacity.total == 2)
                let drained = try await client.call(.delete, "/api/v1/admin/pools/art", root.bearer)
                #expect(drained.status == .accepted)
                #expect(try drained.body.decoded(PoolView.self).draining)
                #expect(try await client.call(.put, "/api/v1/admin/pools/art", root.bearer, json: changed).status == .conflict)
                try await rig.harness.wait(for: "the pool gone", timeout: .seconds(10)) { try await rig.harness.store.pool(named: "art") == nil }
            }
            #expect(try await client.call(.get, "/api/v1/admin/pools/art", root.bearer).status == .notFound)
            #expect(rig.fake.domainNames().isEmpty)
        }
    }

    @Test("a draining pool takes no new sessions; a session on it ends with the desktop going, and then the pool")
    func drainWithSession() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let root = try await client.login("root")
                let alice = try await client.login("alice")
                let id = try #require(try await client.call(.post, "/api/v1/pools/eng/desktop", alice.bearer).headers[.init("Deskpool-Desktop")!])
                #expect(try await client.call(.delete, "/api/v1/admin/pools/eng", root.bearer).status == .accepted)
                let bob = try await client.login("bob")
                #expect(try await client.call(.post, "/api/v1/pools/eng/desktop", bob.bearer).status == .conflict)
                #expect(try await client.call(.get, "/api/v1/pools", bob.bearer).body.decoded([UserPoolView].self).isEmpty)
                try await rig.harness.wait(for: "only alice's desktop left", timeout: .seconds(10)) {
                    try await rig.harness.store.desktops(pool: "eng").map(\.id) == [id]
                }
                #expect(try await rig.harness.store.pool(named: "eng") != nil)
                #expect(try await client.call(.delete, "/api/v1/sessions/\(id)", alice.bearer).status == .ok)
                try await rig.harness.wait(for: "the pool gone", timeout: .seconds(10)) { try await rig.harness.store.pool(named: "eng") == nil }
            }
        }
    }

    @Test("desktops: filters, reboot, refresh, assign and unassign, delete; sessions: list and forced logoff")
    func desktops() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 2, configure: { $0.assignment = .dedicated }) {
            try await rig.test { client in
                let root = try await client.login("root")
                let all = try await client.call(.get, "/api/v1/admin/desktops?pool=eng&state=ready", root.bearer).body.decoded([DesktopView].self)
                #expect(all.count == 2)
                #expect(try await client.call(.get, "/api/v1/admin/desktops?state=sleepy", root.bearer).status == .badRequest)
                #expect(try await client.call(.get, "/api/v1/admin/desktops?pool=a%20b", root.bearer).status == .badRequest)
                #expect(try await client.call(.get, "/api/v1/admin/desktops?host=h2", root.bearer).body.decoded([DesktopView].self).isEmpty)
                let (first, second) = (all[0], all[1])
                #expect(try await client.call(.get, "/api/v1/admin/desktops/\(first.id)", root.bearer).body.decoded(DesktopView.self).name == first.name)
                #expect(try await client.call(.get, "/api/v1/admin/desktops/nope", root.bearer).status == .notFound)

                #expect(try await client.call(.post, "/api/v1/admin/desktops/\(first.id)/reboot", root.bearer).status == .accepted)
                #expect(rig.fake.operations.contains("reboot \(first.name)"))
                #expect(try await rig.harness.store.auditLog(AuditQuery(action: "desktop.reboot")).first?.actor == "admin:root")

                let assigned = try await client.call(.post, "/api/v1/admin/desktops/\(first.id)/assign", root.bearer, json: AssignRequest(user: "bob"))
                #expect(assigned.status == .ok)
                #expect(try assigned.body.decoded(DesktopView.self).user == "bob")
                #expect(try await client.call(.post, "/api/v1/admin/desktops/\(first.id)/assign", root.bearer, json: AssignRequest(user: "carol")).status == .conflict)
                #expect(try await client.call(.post, "/api/v1/admin/desktops/\(second.id)/assign", root.bearer, raw: "{\"user\": 5}").status == .badRequest)
                let sessions = try await client.call(.get, "/api/v1/admin/sessions?user=bob", root.bearer).body.decoded([DesktopView].self)
                #expect(sessions.map(\.id) == [first.id])
                let forced = try await client.call(.delete, "/api/v1/admin/sessions/\(first.id)", root.bearer)
                #expect(forced.status == .ok)
                #expect(try forced.body.decoded(DesktopView.self).state == .assigned)  // dedicated: kept by its user
                #expect(try await client.call(.post, "/api/v1/admin/desktops/\(first.id)/unassign", root.bearer).status == .accepted)
                #expect(try await rig.harness.store.desktop(id: first.id)?.user == nil)

                let refreshed = try await client.call(.post, "/api/v1/admin/desktops/\(second.id)/refresh", root.bearer)
                #expect(try refreshed.body.decoded(DesktopView.self).state == .refreshing)
                try await rig.harness.wait(for: "refreshed", timeout: .seconds(10)) { try await rig.harness.store.desktop(id: second.id)?.state == .ready }
                let deleted = try await client.call(.delete, "/api/v1/admin/desktops/\(second.id)", root.bearer)
                #expect(deleted.status == .accepted)
                #expect(try deleted.body.decoded(DesktopView.self).state == .deleting)
                try await rig.harness.wait(for: "deleted", timeout: .seconds(10)) { try await rig.harness.store.desktop(id: second.id) == nil }
                #expect(try await client.call(.delete, "/api/v1/admin/sessions/\(second.id)", root.bearer).status == .notFound)
            }
        }
    }

    @Test("templates: list, show, put, publish from a volume, delete an unused version; host paths and bounds refused")
    func templates() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let root = try await client.login("root")
            let list = try await client.call(.get, "/api/v1/admin/templates", root.bearer).body.decoded([TemplateView].self)
            #expect(list.map(\.name) == ["tiny"] && list.first?.versions.map(\.number) == [1])
            #expect(try await client.call(.get, "/api/v1/admin/templates/none", root.bearer).status == .notFound)
            let put = try await client.call(.put, "/api/v1/admin/templates/big", root.bearer, json: TemplateInput(vcpus: 4, domainXML: "<domain/>"))
            #expect(put.status == .ok)
                #expect(try put.body.decoded(TemplateView.self).vcpus == 4)
            let badBounds = try await client.call(.put, "/api/v1/admin/templates/big", root.bearer, json: TemplateInput(vcpus: 500, domainXML: "<domain/>"))
            #expect(badBounds.status == .badRequest && badBounds.body.text.contains("vcpus"))
            #expect(try await client.call(.put, "/api/v1/admin/templates/big", root.bearer, json: TemplateInput(domainXML: "no xml")).status == .badRequest)
            let broken = try await client.call(.put, "/api/v1/admin/templates/big", root.bearer, json: TemplateInput(domainXML: "<domain><name>x</domain>"))
            #expect(broken.status == .badRequest && broken.body.text.contains("\"field\":\"domainXML\""))
            #expect(try await client.call(.put, "/api/v1/admin/templates/big", root.bearer, json: TemplateInput(domainXML: "<pool/>")).status == .badRequest)

            // Images come from an upload, the import directory or a volume (ImageImportAPITests); never a host path.
            rig.fake.addVolume("golden.qcow2")
            let published = try await client.call(.post, "/api/v1/admin/templates/big/versions", root.bearer, json: PublishRequest(volume: "golden.qcow2", note: "v1"))
            #expect(published.status == .created)
                #expect(try published.body.decoded(TemplateVersion.self).number == 1)
            for path in ["relative.qcow2", "/nonexistent/x.qcow2", "/tmp", "/tmp/../etc/passwd"] {
                let bad = try await client.call(.post, "/api/v1/admin/templates/big/versions", root.bearer, json: PublishRequest(imagePath: path, note: "x"))
                #expect(bad.status == .badRequest && bad.body.text.contains("imagePath"), "\(path)")
            }
            let badNote = try await client.call(.post, "/api/v1/admin/templates/big/versions", root.bearer, json: PublishRequest(volume: "golden.qcow2", note: "a\nb"))
            #expect(badNote.status == .badRequest)
            #expect(try await client.call(.delete, "/api/v1/admin/templates/big/versions/1", root.bearer).status == .noContent)
            #expect(try await client.call(.delete, "/api/v1/admin/templates/big/versions/1", root.bearer).status == .notFound)
            #expect(try await client.call(.delete, "/api/v1/admin/templates/big/versions/abc", root.bearer).status == .notFound)
        }
    }

    @Test("a version in use cannot be deleted (409)")
    func versionInUse() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let root = try await client.login("root")
                let refused = try await client.call(.delete, "/api/v1/admin/templates/tiny/versions/1", root.bearer)
                #expect(refused.status == .conflict && refused.body.errorCode == "versionInUse")
            }
        }
    }

    @Test("hosts show capacity; the audit log filters and pages")
    func hostsAndAudit() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let root = try await client.login("root")
                let hosts = try await client.call(.get, "/api/v1/admin/hosts", root.bearer).body.decoded([HostView].self)
                #expect(hosts.map(\.name) == ["h1"] && hosts.first?.connected == true && hosts.first?.desktops == 1)
                #expect(hosts.first?.freeMemoryMiB != nil)
                let page = try await client.call(.get, "/api/v1/admin/audit?limit=2", root.bearer).body.decoded(AuditPage.self)
                #expect(page.entries.count == 2)
                let next = try #require(page.next)
                let older = try await client.call(.get, next, root.bearer).body.decoded(AuditPage.self)
                #expect(older.entries.first.flatMap(\.id).map { id in id < page.entries.last!.id! } == true)
                let templates = try await client.call(.get, "/api/v1/admin/audit?action=template.put&actor=admin:test", root.bearer).body.decoded(AuditPage.self)
                #expect(templates.entries.count == 1 && templates.next == nil)
                for bad in ["limit=0", "limit=501", "limit=x", "before=-1"] {
                    #expect(try await client.call(.get, "/api/v1/admin/audit?\(bad)", root.bearer).status == .badRequest, "\(bad)")
                }
            }
        }
    }
}
