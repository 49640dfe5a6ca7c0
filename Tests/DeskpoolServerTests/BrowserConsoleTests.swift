import DeskpoolCore
import DeskpoolServer
import DeskpoolTesting
import Foundation
import HummingbirdTesting
import HTTPTypes
import Testing

/// The browser console from the HTTP side: "Open in browser" on My desktops, the console page
/// and its security headers, the API's `?console=browser`, the kiosk page, and noVNC's files.
@Suite("Browser console (portal and API)")
struct BrowserConsoleTests {
    @Test func openInBrowserRendersTheConsolePage() async throws {
        let rig = try await ServerTestRig(gateway: GatewayConfiguration())
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                let desktops = try await client.page(.get, "/desktops", as: alice).body.text
                #expect(desktops.contains("<form class=\"browser\" method=\"post\" action=\"/desktops/eng/browser\">"))

                let answer = try await client.page(.post, "/desktops/eng/browser", as: alice, form: [("csrf", alice.csrf)])
                #expect(answer.status == .ok)
                let held = try #require(try await rig.harness.desktops("eng", in: [.assigned]).first)
                let html = answer.body.text
                let password = try #require(rig.fake.browserPassword(of: held.name)).password.secret
                #expect(html.contains("data-password=\"\(Self.escaped(password))\""))
                #expect(html.contains("data-relay-port=\"8081\"") && html.contains("data-relay-host=\"\""))
                let port = try #require(try await rig.fake.consoleEndpoint(ofDesktop: held.name).browserPort)
                #expect(html.contains("data-port=\"\(port)\""))
                #expect(html.contains("<script type=\"module\" src=\"/static/console.js?v="))
                #expect(html.contains("id=\"console-back\""), "not a kiosk: a way back")
                let policy = try #require(answer.headers[.contentSecurityPolicy])
                #expect(policy.contains("connect-src 'self' ws: wss:") && policy.contains("script-src") == false && policy.contains("default-src 'self'"))
                #expect(answer.headers[.cacheControl] == "no-store", "the page holds a password")
                // The token in the page is this session's, for this desktop.
                let token = try #require(Self.attribute("data-token", in: html))
                let verified = try ConnectToken.verify(token, key: rig.harness.tokenKey, now: Date())
                #expect(verified.desktop == held.id)
                // Other pages keep the strict policy.
                #expect(try await client.page(.get, "/desktops", as: alice).headers[.contentSecurityPolicy]?.contains("ws:") == false)
            }
        }
    }

    @Test func apiAnswersTheBrowserConsoleParameters() async throws {
        let rig = try await ServerTestRig(gateway: GatewayConfiguration())
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                let answer = try await client.call(.post, "/api/v1/pools/eng/desktop?console=browser", alice.bearer)
                #expect(answer.status == .ok)
                let view = try answer.body.decoded(BrowserConsoleView.self)
                #expect(view.relay == .init(host: nil, port: 8081, path: "/console"))
                #expect(answer.body.text.contains("\"host\":null"), "the relay's host is there, null for the page's own")
                #expect(answer.headers[.init("Deskpool-Desktop")!] == view.desktop.id)
                let schemas = try OpenAPIShape(document: try await client.call(.get, "/api/v1/openapi.json", alice.bearer).body)
                #expect(schemas.problems(answer.body, schema: "BrowserConsole").isEmpty, "\(schemas.problems(answer.body, schema: "BrowserConsole"))")
                #expect(view.password.count == 8 && view.password == rig.fake.browserPassword(of: view.desktop.name)?.password.secret)
                let pools = try await client.call(.get, "/api/v1/pools", alice.bearer).body.decoded([UserPoolView].self)
                #expect(pools.first { $0.name == "eng" }?.browserConsole == true)
                let bad = try await client.call(.post, "/api/v1/pools/eng/desktop?console=vnc", alice.bearer)
                #expect(bad.status == .badRequest && bad.body.errorField == "console")
            }
        }
    }

    @Test func noGatewayNoBrowserButtonAndA409() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                #expect(try await !client.page(.get, "/desktops", as: alice).body.text.contains("action=\"/desktops/eng/browser\""))
                let answer = try await client.call(.post, "/api/v1/pools/eng/desktop?console=browser", alice.bearer)
                #expect(answer.status == .conflict)
                #expect(answer.body.text.contains("gateway"))
            }
        }
    }

    @Test func aPoolWithoutBrowserConsolesRefusesBeforeClaiming() async throws {
        let rig = try await ServerTestRig(gateway: GatewayConfiguration())
        try await rig.withEngPool(ready: 1, configure: { $0.console.browser = false }) {
            try await rig.test { client in
                let alice = try await client.login("alice")
                #expect(try await !client.page(.get, "/desktops", as: alice).body.text.contains("action=\"/desktops/eng/browser\""))
                let answer = try await client.call(.post, "/api/v1/pools/eng/desktop?console=browser", alice.bearer)
                #expect(answer.status == .forbidden && answer.body.errorCode == "notEntitled")
                #expect(try await rig.harness.desktops("eng", in: [.assigned]).isEmpty, "nothing claimed")
            }
        }
    }

    @Test func kioskLogsInAndComesBackToItsPoolAfterLogout() async throws {
        let rig = try await ServerTestRig(gateway: GatewayConfiguration())
        try await rig.withEngPool(ready: 1) {
            try await rig.test { client in
                let anonymous = try await client.page(.get, "/kiosk/eng")
                #expect(anonymous.status == .seeOther || anonymous.status == .found)
                #expect(anonymous.headers[.location] == "/login?next=/kiosk/eng")

                let alice = try await client.login("alice")
                let start = try await client.page(.get, "/kiosk/eng", as: alice)
                #expect(start.status == .ok)
                #expect(start.body.text.contains("<form id=\"retry\" method=\"post\" action=\"/kiosk/eng\" data-retry-after=\"1\">"))
                #expect(try await rig.harness.desktops("eng", in: [.assigned]).isEmpty, "a GET claims nothing")

                let console = try await client.page(.post, "/kiosk/eng", as: alice, form: [("csrf", alice.csrf)])
                #expect(console.status == .ok)
                #expect(console.body.text.contains("class=\"console-page is-kiosk\""))
                #expect(!console.body.text.contains("id=\"console-back\""))
                #expect(console.body.text.contains("<input type=\"hidden\" name=\"next\" value=\"/kiosk/eng\">"))

                let out = try await client.page(.post, "/logout", as: alice, form: [("csrf", alice.csrf), ("next", "/kiosk/eng")])
                #expect(out.headers[.location] == "/login?next=/kiosk/eng")
                // Only a kiosk page is a place to come back to.
                let bob = try await client.login("bob")
                let other = try await client.page(.post, "/logout", as: bob, form: [("csrf", bob.csrf), ("next", "https://evil.example.org/")])
                #expect(other.headers[.location] == "/login")
            }
        }
    }

    @Test func noVNCFilesComeFromTheConfiguredDirectoryOnly() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-novnc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("core/util"), withIntermediateDirectories: true)
        try Data("export default 1;".utf8).write(to: directory.appendingPathComponent("core/util/logging.js"))
        try Data("secret".utf8).write(to: directory.appendingPathComponent("core/notes.txt"))
        defer { try? FileManager.default.removeItem(at: directory) }
        let rig = try await ServerTestRig { $0.novncDirectory = directory.path }
        try await rig.test { client in
            let file = try await client.page(.get, "/novnc/core/util/logging.js")
            #expect(file.status == .ok && file.body.text == "export default 1;")
            #expect(file.headers[.contentType] == "text/javascript; charset=utf-8")
            for path in ["/novnc/core/notes.txt", "/novnc/core/../core/util/logging.js", "/novnc/app/ui.js", "/novnc/core/.hidden.js",
                         "/novnc/core/util/missing.js", "/novnc/core/%2e%2e/%2e%2e/etc/passwd.js"] {
                #expect(try await client.page(.get, path).status == .notFound, "\(path)")
            }
        }
    }

    static func attribute(_ name: String, in html: String) -> String? {
        guard let start = html.range(of: "\(name)=\"") else { return nil }
        return String(html[start.upperBound...].prefix { $0 != "\"" })
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
