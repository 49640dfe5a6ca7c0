import DeskpoolCore
import DeskpoolServer
import Foundation
import HummingbirdTesting
import HTTPTypes
import Testing

@Suite("Portal: rollouts and policies")
struct PortalRolloutTests {
    static let hostile = "<script>alert('x')</script>"
    static let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"

    @Test func pagesAreForAdmins() async throws {
        let rig = try await ServerTestRig()
        try await RolloutFixtures.prepare(rig, ready: 1)
        let rollout = try await rig.server.services.broker.policies.apply(source: RolloutFixtures.updatePolicy(), actor: "admin:test")
        try await rig.test { client in
            #expect(try await client.page(.get, "/admin/rollouts").headers[.location] == "/login?next=/admin/rollouts")
            let alice = try await client.login("alice")
            for path in ["/admin/rollouts", "/admin/rollouts/\(rollout.id)", "/admin/policies"] {
                let answer = try await client.page(.get, path, as: alice)
                #expect(answer.status == .forbidden, "\(path)")
                #expect(answer.body.text.contains("role=\"alert\">This page is for administrators.<"))
            }
            for path in ["/admin/policies/plan", "/admin/rollouts", "/admin/rollouts/\(rollout.id)/pause"] {
                let answer = try await client.page(.post, path, as: alice, form: [("csrf", alice.csrf), ("source", RolloutFixtures.updatePolicy())])
                #expect(answer.status == .forbidden, "POST \(path)")
            }
            #expect(try await rig.harness.store.rollouts(active: false, limit: 10).map(\.state) == [.running])
        }
    }

    @Test func listAndDetailRender() async throws {
        let rig = try await ServerTestRig()
        try await RolloutFixtures.prepare(rig, ready: 2)
        let rollout = try await rig.server.services.broker.policies.apply(source: RolloutFixtures.updatePolicy(), actor: "admin:root")
        try await rig.test { client in
            let root = try await client.login("root")
            let list = try await client.page(.get, "/admin/rollouts", as: root)
            #expect(list.status == .ok)
            let html = list.body.text
            #expect(html.contains("<a href=\"/admin/rollouts\" aria-current=\"page\">Rollouts</a>"))
            #expect(html.contains("<table id=\"rollouts\">"))
            #expect(html.contains("<tr data-rollout=\"\(rollout.id)\">"))
            #expect(html.contains("<a href=\"/admin/rollouts/\(rollout.id)\">eng-update</a>"))
            #expect(html.contains("pending 2") && html.contains("1 of 2") && html.contains("admin:root"))

            let detail = try await client.page(.get, "/admin/rollouts/\(rollout.id)", as: root)
            #expect(detail.status == .ok)
            let page = detail.body.text
            #expect(page.contains("<meta http-equiv=\"refresh\" content=\"5\">"))
            let change = try #require(rollout.pools.first)
            #expect(page.contains("<tr data-pool=\"eng\"><th scope=\"row\"><a href=\"/admin/pools/eng\">eng</a></th><td>v\(change.fromVersion ?? 0)</td><td>v2</td></tr>"))
            for item in try await rig.harness.store.rolloutItems(rollout: rollout.id) {
                #expect(page.contains("<tr data-desktop=\"\(item.desktopID)\">"))
                #expect(page.contains("<td class=\"num\">\(item.wave + 1)</td>"))
            }
            // Running: pause, cancel and roll back, not resume.
            #expect(page.contains("action=\"/admin/rollouts/\(rollout.id)/pause\""))
            #expect(page.contains("action=\"/admin/rollouts/\(rollout.id)/cancel\""))
            #expect(page.contains("action=\"/admin/rollouts/\(rollout.id)/rollback\""))
            #expect(!page.contains("/resume\""))
            #expect(page.contains("<input type=\"hidden\" name=\"csrf\" value=\"\(root.csrf)\">"))

            #expect(try await client.page(.get, "/admin/rollouts/0000", as: root).status == .notFound)
            #expect(try await client.page(.get, "/admin", as: root).body.text.contains("<a href=\"/admin/rollouts\">Rollouts</a>"))
        }
    }

    @Test func actionsNeedTheCSRFTokenAndRedirectBack() async throws {
        let rig = try await ServerTestRig()
        try await RolloutFixtures.prepare(rig, ready: 1)
        let rollout = try await rig.server.services.broker.policies.apply(source: RolloutFixtures.updatePolicy(), actor: "admin:test")
        try await rig.test { client in
            let root = try await client.login("root")
            let forged = try await client.page(.post, "/admin/rollouts/\(rollout.id)/pause", as: root, form: [("csrf", "x" + root.csrf)])
            #expect(forged.status == .forbidden)
            let none = try await client.page(.post, "/admin/rollouts/\(rollout.id)/pause", as: root, form: [])
            #expect(none.status == .forbidden)
            #expect(try await rig.harness.store.rollout(id: rollout.id)?.state == .running)

            let paused = try await client.page(.post, "/admin/rollouts/\(rollout.id)/pause", as: root, form: [("csrf", root.csrf)])
            #expect(paused.status == .seeOther)
            #expect(paused.headers[.location] == "/admin/rollouts/\(rollout.id)")
            #expect(try await rig.harness.store.rollout(id: rollout.id)?.state == .paused)
            let page = try await client.page(.get, "/admin/rollouts/\(rollout.id)", as: root).body.text
            #expect(page.contains("/resume\"") && !page.contains("/pause\""))
            #expect(page.contains("paused by admin:root"))

            let again = try await client.page(.post, "/admin/rollouts/\(rollout.id)/pause", as: root, form: [("csrf", root.csrf)])
            #expect(again.status == .conflict)
            #expect(again.body.text.contains("role=\"alert\">the rollout is paused; it cannot become paused."))
            #expect(try await client.page(.post, "/admin/rollouts/\(rollout.id)/explode", as: root, form: [("csrf", root.csrf)]).status == .notFound)
            #expect(try await client.page(.post, "/admin/rollouts/0000/pause", as: root, form: [("csrf", root.csrf)]).status == .notFound)

            let cancelled = try await client.page(.post, "/admin/rollouts/\(rollout.id)/cancel", as: root, form: [("csrf", root.csrf)])
            #expect(cancelled.status == .seeOther)
            let over = try await client.page(.get, "/admin/rollouts/\(rollout.id)", as: root).body.text
            #expect(!over.contains("http-equiv=\"refresh\""))  // over: no more reloads
            #expect(over.contains("/rollback\"") && !over.contains("/cancel\""))
        }
    }

    @Test func planFormShowsThePlanAndKeepsTheText() async throws {
        let rig = try await ServerTestRig()
        try await RolloutFixtures.prepare(rig, ready: 2)
        try await rig.test { client in
            let root = try await client.login("root")
            let form = try await client.page(.get, "/admin/policies", as: root)
            #expect(form.status == .ok)
            #expect(form.body.text.contains("<form id=\"policy-form\" class=\"card\" method=\"post\" action=\"/admin/policies/plan\">"))
            #expect(form.body.text.contains("formaction=\"/admin/rollouts\""))

            let source = RolloutFixtures.updatePolicy()
            let plan = try await client.page(.post, "/admin/policies/plan", as: root, form: [("csrf", root.csrf), ("source", source)])
            #expect(plan.status == .ok)
            let html = plan.body.text
            #expect(html.contains("<table id=\"plan-desktops\">"))
            for desktop in try await rig.harness.desktops("eng", in: [.ready]) {
                #expect(html.contains("<tr data-desktop=\"\(desktop.id)\">"))
                #expect(html.contains("<th scope=\"row\">\(desktop.name)</th>"))
            }
            #expect(html.contains("<td>refresh</td>"))
            #expect(html.contains("2 desktop(s) in 2 wave(s)."))
            #expect(html.contains("<tr data-pool=\"eng\">"))
            #expect(html.contains("eng: newest tiny"))
            #expect(html.contains("spellcheck=\"false\" required aria-describedby=\"source-hint\">apiVersion: deskpool/v1\n"))
            #expect(try await rig.harness.store.rollouts(active: false, limit: 10).isEmpty)

            let noToken = try await client.page(.post, "/admin/policies/plan", as: root, form: [("source", source)])
            #expect(noToken.status == .forbidden)
        }
    }

    @Test func refusedPolicyIsShownEscapedWithTheTextKept() async throws {
        let rig = try await ServerTestRig()
        try await RolloutFixtures.prepare(rig, ready: 1)
        try await rig.test { client in
            let root = try await client.login("root")
            let source = RolloutFixtures.misspelt.replacingOccurrences(of: "versoin", with: "v<b>x</b>")
            for path in ["/admin/policies/plan", "/admin/rollouts"] {
                let answer = try await client.page(.post, path, as: root, form: [("csrf", root.csrf), ("source", source)])
                #expect(answer.status == .badRequest, "\(path)")
                let html = answer.body.text
                #expect(html.contains("role=\"alert\">policy:"), "\(path)")
                #expect(html.contains("v&lt;b&gt;x&lt;/b&gt;") && !html.contains("<b>x</b>"), "\(path)")
                #expect(html.contains("<textarea id=\"source\""))
            }
            let nowhere = RolloutFixtures.updatePolicy().replacingOccurrences(of: "pools: [eng]", with: "pools: [nowhere]")
            let missing = try await client.page(.post, "/admin/policies/plan", as: root, form: [("csrf", root.csrf), ("source", nowhere)])
            #expect(missing.status == .notFound && missing.body.text.contains("pools: [nowhere]"))
            #expect(try await rig.harness.store.rollouts(active: false, limit: 10).isEmpty)
        }
    }

    @Test func applyRedirectsToTheNewRollout() async throws {
        let rig = try await ServerTestRig()
        try await RolloutFixtures.prepare(rig, ready: 1)
        try await rig.test { client in
            let root = try await client.login("root")
            let answer = try await client.page(.post, "/admin/rollouts", as: root, form: [("csrf", root.csrf), ("source", RolloutFixtures.updatePolicy())])
            #expect(answer.status == .seeOther)
            let rollout = try #require(try await rig.harness.store.rollouts(active: false, limit: 10).first)
            #expect(answer.headers[.location] == "/admin/rollouts/\(rollout.id)")
            #expect(rollout.createdBy == "admin:root" && rollout.policy == "eng-update")
            // A second apply on the same pool is refused on the form.
            let again = try await client.page(.post, "/admin/rollouts", as: root, form: [("csrf", root.csrf), ("source", RolloutFixtures.updatePolicy())])
            #expect(again.status == .conflict && again.body.text.contains("is in a rollout that is not over"))
        }
    }

    @Test func hostileTextIsEscaped() async throws {
        let rig = try await ServerTestRig()
        try await RolloutFixtures.prepare(rig, ready: 1)
        let source = RolloutFixtures.updatePolicy(description: Self.hostile)
        let rollout = try await rig.server.services.broker.policies.apply(source: source, actor: "admin:test")
        let item = try #require(try await rig.harness.store.rolloutItems(rollout: rollout.id).first)
        _ = try await rig.harness.store.updateRolloutItem(rollout: rollout.id, desktop: item.desktopID, from: [.pending], actor: "test") {
            $0.status = .failed
            $0.detail = Self.hostile
            $0.result = GuestCommandResult(exitCode: 3, stdout: Self.hostile, stderr: "</pre>" + Self.hostile)
            $0.checks = [CheckOutcome(check: Self.hostile, passed: false, evidence: Self.hostile)]
        }
        try await rig.test { client in
            let root = try await client.login("root")
            let page = try await client.page(.get, "/admin/rollouts/\(rollout.id)", as: root).body.text
            #expect(!page.contains("<script>alert") && !page.contains("</pre><script"))
            #expect(page.contains("<dd id=\"rollout-description\">\(Self.escaped)</dd>"))
            #expect(page.contains("<pre class=\"output stdout\">\(Self.escaped)</pre>"))
            #expect(page.contains("<pre class=\"output stderr\">&lt;/pre&gt;\(Self.escaped)</pre>"))
            #expect(page.contains("Exit code <span class=\"exit-code\">3</span>"))
            #expect(page.contains("<li class=\"check-failed\"><strong>\(Self.escaped)</strong>: failed. <span class=\"evidence\">\(Self.escaped)</span></li>"))
            #expect(page.contains("<td class=\"reason\">\(Self.escaped)"))

            let plan = try await client.page(.post, "/admin/policies/plan", as: root, form: [("csrf", root.csrf), ("source", source)])
            #expect(plan.body.text.contains("<p id=\"plan-description\">\(Self.escaped)</p>"))
            #expect(!plan.body.text.contains("<script>alert"))
        }
    }
}
