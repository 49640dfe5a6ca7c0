import DeskpoolCore
import DeskpoolServer
import DeskpoolTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The portal's login when PAM asks more: a page per step with a field per prompt (masked when
/// the answer must not show), PAM's messages, and a pool's factor asked at Connect.
@Suite("Portal: login conversations")
struct PortalConversationTests {
    /// The challenge form's id, and the login token (its cookie and field) of the page.
    static func challengeForm(_ page: (status: HTTPResponse.Status, body: Data, headers: HTTPFields)) throws -> (challenge: String, token: String) {
        let html = page.body.text
        #expect(page.status == .ok)
        #expect(html.contains("<form id=\"challenge-form\" method=\"post\" action=\"/login/challenge\">"))
        let challenge = try #require(Self.value(of: "challenge", in: html))
        let token = try #require(page.headers.cookie(PortalTestCookies.login))
        #expect(Self.value(of: "csrf", in: html) == token)
        return (challenge, token)
    }

    /// The value of the hidden input `name` in a page.
    static func value(of name: String, in html: String) -> String? {
        guard let start = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        let rest = html[start.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    static func answer(_ client: any TestClientProtocol, _ form: (challenge: String, token: String), _ answers: [String], next: String? = nil) async throws
        -> (status: HTTPResponse.Status, body: Data, headers: HTTPFields) {
        var fields = [("csrf", form.token), ("challenge", form.challenge)]
        for (index, answer) in answers.enumerated() { fields.append(("answer-\(index)", answer)) }
        if let next { fields.append(("next", next)) }
        return try await client.page(.post, "/login/challenge", form: fields, cookies: ["\(PortalTestCookies.login)=\(form.token)"])
    }

    @Test("the password, then a page asking the code in a masked field; the code logs in; a wrong one goes back to the login form")
    func secondFactor() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let asked = try await client.portalLogin("erin")
            let form = try Self.challengeForm(asked)
            let html = asked.body.text
            #expect(html.contains("<label for=\"answer-0\">Verification code</label>"))
            #expect(html.contains("id=\"answer-0\" name=\"answer-0\" type=\"password\""))
            #expect(asked.headers.setCookie(PortalTestCookies.session) == nil)

            let done = try await Self.answer(client, form, [ServerTestRig.code], next: "/desktops")
            #expect(done.status == .seeOther && done.headers[.location] == "/desktops")
            let cookie = try #require(done.headers.cookie(PortalTestCookies.session))
            #expect(try await client.page(.get, "/desktops", cookies: ["\(PortalTestCookies.session)=\(cookie)"]).status == .ok)
            // The same answer again: that login is over.
            let again = try await Self.answer(client, form, [ServerTestRig.code])
            #expect(again.status == .unauthorized && again.body.text.contains("id=\"login-form\""))

            let wrong = try await Self.answer(client, try Self.challengeForm(try await client.portalLogin("erin")), ["000000"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.body.text.contains("id=\"login-form\"") && wrong.body.text.contains("wrong user name or password"))
            #expect(!wrong.body.text.contains("000000") && !wrong.body.text.contains("erin-pw"))
        }
    }

    @Test("an expired password: the stack's message and two masked fields on one page; then My desktops")
    func expiredPassword() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let asked = try await client.portalLogin("frank")
            let form = try Self.challengeForm(asked)
            let html = asked.body.text
            #expect(html.contains("<li class=\"pam-info\">You are required to change your password immediately.</li>"))
            #expect(html.contains("<label for=\"answer-0\">New password</label>") && html.contains("<label for=\"answer-1\">Retype new password</label>"))
            #expect(html.contains("id=\"answer-1\" name=\"answer-1\" type=\"password\""))
            let done = try await Self.answer(client, form, ["frank-new", "frank-new"])
            #expect(done.status == .seeOther && done.headers.cookie(PortalTestCookies.session) != nil)
            #expect(try await client.portalLogin("frank", "frank-new").status == .seeOther)
        }
    }

    @Test("a pool's factor is asked at Connect, and the page comes back to My desktops; then Connect gives the desktop")
    func factorAtConnect() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1, configure: { $0.factor = ServerTestRig.factorService }) {
            try await rig.test { client in
                let erin = try await client.login("erin", answering: [[ServerTestRig.code]])
                let asked = try await client.page(.post, "/desktops/eng/connect", as: erin, form: [("csrf", erin.csrf)])
                let form = try Self.challengeForm(asked)
                #expect(Self.value(of: "next", in: asked.body.text) == "/desktops")
                let passed = try await Self.answer(client, form, [ServerTestRig.code], next: "/desktops")
                #expect(passed.status == .seeOther && passed.headers[.location] == "/desktops")
                let connect = try await client.page(.post, "/desktops/eng/connect", as: erin, form: [("csrf", erin.csrf)])
                #expect(connect.status == .ok && connect.headers[.contentType] == VirtViewerFile.mediaType)
            }
        }
    }
}
