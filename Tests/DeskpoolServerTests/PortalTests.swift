import DeskpoolCore
import DeskpoolServer
import Foundation
import HummingbirdTesting
import HTTPTypes
import Testing

@Suite("Portal")
struct PortalTests {
    // MARK: - Login

    @Test func loginPageRendersTheForm() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let answer = try await client.page(.get, "/login")
            #expect(answer.status == .ok)
            #expect(answer.headers[.contentType] == "text/html; charset=utf-8")
            #expect(answer.headers[.cacheControl] == "no-store")
            let html = answer.body.text
            for needle in ["<html lang=\"en\">", "class=\"skip-link\" href=\"#main\"", "<form id=\"login-form\" method=\"post\" action=\"/login\">",
                           "<label for=\"user\">", "<input id=\"user\" name=\"user\"", "<label for=\"password\">",
                           "<input id=\"password\" name=\"password\" type=\"password\"", "<button id=\"login-submit\" type=\"submit\"",
                           "href=\"/static/portal.css?v="] {
                #expect(html.contains(needle), "missing \(needle)")
            }
            let cookie = try #require(answer.headers.setCookie(PortalTestCookies.login))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/login"))
            let token = try #require(answer.headers.cookie(PortalTestCookies.login))
            #expect(html.contains("<input type=\"hidden\" name=\"csrf\" value=\"\(token)\">"))
        }
    }

    @Test func wrongPasswordRerendersTheFormWithAnAlert() async throws {
        // A backoff long enough that a loaded machine cannot outlast it between two requests.
        let rig = try await ServerTestRig { $0.loginThrottle.baseDelaySeconds = 60; $0.loginThrottle.maxDelaySeconds = 60 }
        try await rig.test { client in
            let answer = try await client.portalLogin("alice", "nope")
            #expect(answer.status == .unauthorized)
            #expect(answer.body.text.contains("role=\"alert\">wrong user name or password, or the account may not log in.<"))
            #expect(answer.body.text.contains("id=\"login-form\""))
            #expect(answer.body.text.contains("value=\"alice\""))
            #expect(answer.headers.setCookie(PortalTestCookies.session) == nil)

            // Straight after a failure the throttle answers, and the page says when to try again.
            let again = try await client.portalLogin("alice", "nope")
            #expect(again.status == .tooManyRequests)
            let retry = try #require(again.headers[.retryAfter])
            #expect(again.body.text.contains("Try again in \(retry) seconds."))
        }
    }

    @Test func unusableAccountAnswersAsAWrongPassword() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            // Locked and expired accounts read as a wrong password (the reason is audited).
            let answer = try await client.portalLogin("dave")
            #expect(answer.status == .unauthorized)
            #expect(answer.body.text.contains("role=\"alert\">wrong user name or password, or the account may not log in.<"))
            #expect(!answer.body.text.contains("locked"))
        }
    }

    @Test func rightPasswordSetsTheSessionCookieAndRedirects() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let answer = try await client.portalLogin("alice")
            #expect(answer.status == .seeOther)
            #expect(answer.headers[.location] == "/desktops")
            let cookie = try #require(answer.headers.setCookie(PortalTestCookies.session))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            #expect(answer.headers.setCookie(PortalTestCookies.login)?.contains("Max-Age=0") == true)

            let token = try #require(answer.headers.cookie(PortalTestCookies.session))
            let page = try await client.page(.get, "/desktops", cookies: ["\(PortalTestCookies.session)=\(token)"])
            #expect(page.status == .ok)
            #expect(page.body.text.contains("<h1>My desktops</h1>"))
        }
    }

    @Test func loginGoesBackToALocalNextOnly() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let answer1 = try await client.portalLogin("root", next: "/admin/hosts").headers[.location]
            #expect(answer1 == "/admin/hosts")
            let answer2 = try await client.portalLogin("root", next: "//evil.example/x").headers[.location]
            #expect(answer2 == "/desktops")
            let answer3 = try await client.portalLogin("root", next: "https://evil.example").headers[.location]
            #expect(answer3 == "/desktops")
            let answer4 = try await client.portalLogin("root", next: "/\\evil.example").headers[.location]
            #expect(answer4 == "/desktops")
        }
    }

    @Test func loginWithoutTheLoginTokenPairIsRefused() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let fields = [("user", "alice"), ("password", "alice-pw")]
            let noCookie = try await client.page(.post, "/login", form: fields + [("csrf", "abc")])
            #expect(noCookie.status == .forbidden)
            #expect(noCookie.body.text.contains("role=\"alert\""))
            let noField = try await client.page(.post, "/login", form: fields, cookies: ["\(PortalTestCookies.login)=abc"])
            #expect(noField.status == .forbidden)
            let token = try await client.loginForm()
            let mismatch = try await client.page(.post, "/login", form: fields + [("csrf", token + "x")],
                                                 cookies: ["\(PortalTestCookies.login)=\(token)"])
            #expect(mismatch.status == .forbidden)
            #expect(mismatch.headers.setCookie(PortalTestCookies.session) == nil)
            #expect(rig.authenticator.attempts == 0)  // PAM was never asked
        }
    }

    @Test func logoutEndsTheSession() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let alice = try await client.login("alice")
            let answer5 = try await client.page(.post, "/logout", as: alice, form: [("csrf", "wrong")]).status
            #expect(answer5 == .forbidden)
            let answer = try await client.page(.post, "/logout", as: alice, form: [("csrf", alice.csrf)])
            #expect(answer.status == .seeOther)
            #expect(answer.headers[.location] == "/login")
            #expect(answer.headers.setCookie(PortalTestCookies.session)?.contains("Max-Age=0") == true)
            let after = try await client.page(.get, "/desktops", as: alice)
            #expect(after.status == .seeOther)
        }
    }

    @Test func pagesSendTheLoggedOutToLogin() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let answer6 = try await client.page(.get, "/").headers[.location]
            #expect(answer6 == "/login")
            let desktops = try await client.page(.get, "/desktops")
            #expect(desktops.status == .seeOther)
            #expect(desktops.headers[.location] == "/login?next=/desktops")
            let answer7 = try await client.page(.get, "/admin/audit?action=x").headers[.location]
            #expect(answer7 == "/login?next=/admin/audit%3Faction%3Dx")
            let login = try await client.page(.get, "/login?next=%2Fadmin%2Faudit%3Faction%3Dx")
            #expect(login.body.text.contains("<input type=\"hidden\" name=\"next\" value=\"/admin/audit?action=x\">"))
            let answer8 = try await client.page(.post, "/desktops/eng/connect", form: []).headers[.location]
            #expect(answer8 == "/login")

            let alice = try await client.login("alice")
            let answer9 = try await client.page(.get, "/", as: alice).headers[.location]
            #expect(answer9 == "/desktops")
            let answer10 = try await client.page(.get, "/login", as: alice).headers[.location]
            #expect(answer10 == "/desktops")
        }
    }

    // MARK: - My desktops

    @Test func desktopsListsTheEntitledPools() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let alice = try await client.page(.get, "/desktops", as: try await client.login("alice")).body.text
                #expect(alice.contains("<section class=\"pool card\" data-pool=\"eng\""))
                #expect(alice.contains("<p class=\"pool-state is-ready\">1 ready</p>"))
                #expect(alice.contains("<form class=\"connect\" method=\"post\" action=\"/desktops/eng/connect\">"))
                #expect(alice.contains("id=\"user-name\"><span class=\"visually-hidden\">Logged in as </span>alice</span>"))
                #expect(alice.contains("<form id=\"logout\" method=\"post\" action=\"/logout\">"))
                #expect(!alice.contains("nav-admin"))

                let carol = try await client.page(.get, "/desktops", as: try await client.login("carol")).body.text
                #expect(!carol.contains("data-pool=\"eng\""))
                #expect(carol.contains("No desktop pool is open to you"))

                let root = try await client.page(.get, "/desktops", as: try await client.login("root")).body.text
                #expect(root.contains("<a id=\"nav-admin\" href=\"/admin\""))
            }
        }
    }

    @Test func connectDownloadsTheVirtViewerFile() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                let answer = try await client.page(.post, "/desktops/eng/connect", as: alice, form: [("csrf", alice.csrf)])
                #expect(answer.status == .ok)
                #expect(answer.headers[.contentType] == VirtViewerFile.mediaType)
                let held = try #require(try await rig.harness.desktops("eng", in: [.assigned]).first)
                #expect(answer.headers[.contentDisposition] == "attachment; filename=\"\(VirtViewerFile.fileName(desktop: held.name))\"")
                #expect(answer.body.text.hasPrefix("[virt-viewer]"))

                let page = try await client.page(.get, "/desktops", as: alice).body.text
                #expect(page.contains("<li class=\"session\" data-desktop=\"\(held.id)\">"))
                #expect(page.contains("<form class=\"logoff\" method=\"post\" action=\"/sessions/\(held.id)/logoff\">"))
            }
        }
    }

    @Test func connectNeedsTheCSRFToken() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                let none = try await client.page(.post, "/desktops/eng/connect", as: alice, form: [])
                #expect(none.status == .forbidden)
                #expect(none.body.text.contains("role=\"alert\""))
                let answer11 = try await client.page(.post, "/desktops/eng/connect", as: alice, form: [("csrf", "x" + alice.csrf)]).status
                #expect(answer11 == .forbidden)
                let answer12 = try await rig.harness.desktops("eng", in: [.assigned]).isEmpty
                #expect(answer12)
            }
        }
    }

    @Test func connectWhilePreparingShowsTheWaitAndRetries() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 0) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                let answer = try await client.page(.post, "/desktops/eng/connect", as: alice, form: [("csrf", alice.csrf)])
                #expect(answer.status == .accepted)
                let retry = try #require(answer.headers[.retryAfter])
                let html = answer.body.text
                #expect(html.contains("id=\"preparing\""))
                #expect(html.contains("<form id=\"retry\" method=\"post\" action=\"/desktops/eng/connect\" data-retry-after=\"\(retry)\">"))
                #expect(html.contains("<input type=\"hidden\" name=\"csrf\" value=\"\(alice.csrf)\">"))
                #expect(html.contains("<script src=\"/static/portal.js?v="))
            }
        }
    }

    @Test func connectErrorsShowMyDesktopsWithAnAlert() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1, configure: { $0.max = 1 }) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                let answer13 = try await client.page(.post, "/desktops/eng/connect", as: alice, form: [("csrf", alice.csrf)]).status
                #expect(answer13 == .ok)
                let bob = try await client.login("bob")
                let exhausted = try await client.page(.post, "/desktops/eng/connect", as: bob, form: [("csrf", bob.csrf)])
                #expect(exhausted.status == .conflict)
                #expect(exhausted.body.text.contains("role=\"alert\">pool eng has no free desktop"))
                #expect(exhausted.body.text.contains("<h1>My desktops</h1>"))

                let carol = try await client.login("carol")
                let refused = try await client.page(.post, "/desktops/eng/connect", as: carol, form: [("csrf", carol.csrf)])
                #expect(refused.status == .forbidden)
                #expect(refused.body.text.contains("role=\"alert\">carol is not entitled to pool eng."))
            }
        }
    }

    @Test func logoffOfAnotherUsersDesktopIsNotFound() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                _ = try await client.page(.post, "/desktops/eng/connect", as: alice, form: [("csrf", alice.csrf)])
                let held = try #require(try await rig.harness.desktops("eng", in: [.assigned]).first)

                let bob = try await client.login("bob")
                let stranger = try await client.page(.post, "/sessions/\(held.id)/logoff", as: bob, form: [("csrf", bob.csrf)])
                #expect(stranger.status == .notFound)
                #expect(stranger.body.text.contains("role=\"alert\""))
                let answer14 = try await rig.harness.store.desktop(id: held.id)?.state
                #expect(answer14 == .assigned)

                let own = try await client.page(.post, "/sessions/\(held.id)/logoff", as: alice, form: [("csrf", alice.csrf)])
                #expect(own.status == .seeOther)
                #expect(own.headers[.location] == "/desktops")
                let answer15 = try await rig.harness.store.desktop(id: held.id)?.state.isInSession
                #expect(answer15 == false)
            }
        }
    }

    // MARK: - Admin

    @Test func adminPagesAreForAdmins() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 2) {
            try await rig.test { client in
                let answer16 = try await client.page(.get, "/admin").headers[.location]
                #expect(answer16 == "/login?next=/admin")
                let alice = try await client.login("alice")
                for path in ["/admin", "/admin/pools/eng", "/admin/hosts", "/admin/templates", "/admin/audit"] {
                    let answer = try await client.page(.get, path, as: alice)
                    #expect(answer.status == .forbidden, "\(path)")
                    #expect(answer.body.text.contains("role=\"alert\">This page is for administrators.<"))
                }

                let root = try await client.login("root")
                let answer = try await client.page(.get, "/admin", as: root)
                #expect(answer.status == .ok)
                let html = answer.body.text
                #expect(html.contains("<table id=\"pools\">"))
                #expect(html.contains("<tr data-pool=\"eng\">"))
                let c = PoolCapacity(try await rig.harness.store.desktops(pool: "eng"))
                #expect(c.ready == 2)
                #expect(html.contains("<div class=\"capacity\" data-total=\"\(c.total)\" data-ready=\"\(c.ready)\" data-saved=\"\(c.saved)\" data-assigned=\"\(c.assigned)\" "
                    + "data-connected=\"\(c.connected)\" data-disconnected=\"\(c.disconnected)\" data-provisioning=\"\(c.provisioning)\" "
                    + "data-failed=\"\(c.failed)\">"))
                #expect(html.contains("<rect class=\"seg-ready\" x=\"0.00\" y=\"0\" width=\"50.00\" height=\"10\">"))  // 2 of max 4
                #expect(html.contains("2 ready"))
            }
        }
    }

    @Test func adminDetailPagesRender() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let root = try await client.login("root")
                let desktop = try #require(try await rig.harness.desktops("eng", in: [.ready]).first)
                let pool = try await client.page(.get, "/admin/pools/eng", as: root)
                #expect(pool.status == .ok)
                #expect(pool.body.text.contains("<table id=\"desktops\">"))
                #expect(pool.body.text.contains("<tr data-desktop=\"\(desktop.id)\">"))
                let answer17 = try await client.page(.get, "/admin/pools/nope", as: root).status
                #expect(answer17 == .notFound)

                let hosts = try await client.page(.get, "/admin/hosts", as: root)
                #expect(hosts.status == .ok)
                #expect(hosts.body.text.contains("<tr data-host=\"h1\">"))

                let templates = try await client.page(.get, "/admin/templates", as: root)
                #expect(templates.body.text.contains("data-template=\"tiny\""))
                #expect(templates.body.text.contains("<tr data-version=\"1\">"))

                for n in 1...2 {
                    try await rig.harness.store.audit(AuditEntry(at: Date(), actor: "admin:test", action: "test.page", subject: "pool/eng",
                                                                 detail: "entry \(n)"))
                }
                let audit = try await client.page(.get, "/admin/audit?subject=&actor=&action=test.page&limit=1", as: root)
                #expect(audit.status == .ok)
                #expect(audit.body.text.contains("<table id=\"audit\">"))
                #expect(audit.body.text.contains("id=\"audit-older\" href=\"/admin/audit?action=test.page&amp;limit=1&amp;before="))
                #expect(audit.body.text.contains("entry 2"))
                #expect(!audit.body.text.contains("entry 1"))
                let answer18 = try await client.page(.get, "/admin/audit?limit=9999", as: root).status
                #expect(answer18 == .badRequest)
            }
        }
    }

    @Test func hostileTextIsEscaped() async throws {
        let rig = try await ServerTestRig()
        // Dedicated: a failed desktop that still has its user stays for the admin (with its reason).
        try await rig.withEngPool(ready: 1, configure: { $0.assignment = .dedicated }) {
            try await rig.test { client in
                let hostile = "<script>alert('x')</script>"
                try await rig.harness.store.audit(AuditEntry(at: Date(), actor: "admin:test", action: "test.hostile", subject: "pool/eng",
                                                             detail: hostile))
                let desktop = try #require(try await rig.harness.desktops("eng", in: [.ready]).first)
                _ = try await rig.harness.store.transition(desktop.id, .claimed(user: "carol", session: .new(at: Date())), actor: "test")
                _ = try await rig.harness.store.transition(desktop.id, .lost(reason: hostile), actor: "test")

                let root = try await client.login("root")
                let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
                let audit = try await client.page(.get, "/admin/audit?action=test.hostile", as: root).body.text
                #expect(audit.contains(escaped))
                #expect(!audit.contains("<script>alert"))
                let pool = try await client.page(.get, "/admin/pools/eng", as: root).body.text
                #expect(pool.contains("<td class=\"reason\">\(escaped)</td>"))
                #expect(!pool.contains("<script>alert"))
            }
        }
    }

    // MARK: - Static files

    @Test func staticFilesAreCachedLong() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let css = try await client.page(.get, "/static/portal.css")
            #expect(css.status == .ok)
            #expect(css.headers[.contentType] == "text/css; charset=utf-8")
            #expect(css.headers[.cacheControl] == "public, max-age=31536000, immutable")
            #expect(css.headers[.contentSecurityPolicy] != nil)
            let js = try await client.page(.get, "/static/portal.js")
            #expect(js.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(js.body.text.contains("data-retry-after"))
            let answer19 = try await client.page(.get, "/static/nope.css").status
            #expect(answer19 == .notFound)
            let answer20 = try await client.page(.get, "/static/..%2FResources%2Fopenapi.json").status
            #expect(answer20 == .notFound)
        }
    }
}
