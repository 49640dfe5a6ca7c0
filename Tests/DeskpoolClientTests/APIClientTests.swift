@testable import DeskpoolClient
import DeskpoolCore
import Foundation
import Testing

@Suite struct APIClientTests {
    let api = try! APIClient(server: "http://127.0.0.1:8080/", token: "s3cret-token")

    @Test func normalizesTheServerURL() throws {
        #expect(api.server == "http://127.0.0.1:8080")
        #expect(try APIClient.normalize(server: "https://vdi.example.org/deskpool/") == "https://vdi.example.org/deskpool")
        for bad in ["127.0.0.1:8080", "ftp://h", "http://", "http://h/?x=1", ""] {
            #expect(throws: ClientError.self) { try APIClient.normalize(server: bad) }
        }
    }

    @Test func buildsURLsWithEscapedNamesAndFilters() throws {
        #expect(try api.url(for: .pool("tiny")) == "http://127.0.0.1:8080/api/v1/admin/pools/tiny")
        #expect(try api.url(for: .pool("a/b?c")) == "http://127.0.0.1:8080/api/v1/admin/pools/a%2Fb%3Fc")
        #expect(try api.url(for: .desktops(DesktopFilter(pool: "tiny", state: .ready))) == "http://127.0.0.1:8080/api/v1/admin/desktops?pool=tiny&state=ready")
        #expect(try api.url(for: .desktops(DesktopFilter())) == "http://127.0.0.1:8080/api/v1/admin/desktops")
        #expect(try api.url(for: .requestDesktop(pool: "tiny", another: true)) == "http://127.0.0.1:8080/api/v1/pools/tiny/desktop?another=true")
        #expect(try api.url(for: .audit(AuditQuery(subject: "pool/tiny", limit: 5))) == "http://127.0.0.1:8080/api/v1/admin/audit?subject=pool/tiny&limit=5")
    }

    @Test func followsBrokerLinksOnlyOnTheSameServer() throws {
        let next = "/api/v1/admin/audit?subject=pool/tiny&before=42"
        #expect(try api.path(ofLink: next) == next)
        #expect(try api.url(for: .auditPage(at: next)) == "http://127.0.0.1:8080/api/v1/admin/audit?subject=pool/tiny&before=42")
        #expect(try api.path(ofLink: "http://127.0.0.1:8080/api/v1/pools/tiny/desktop") == "/api/v1/pools/tiny/desktop")
        #expect(throws: UnexpectedAnswer.self) { try api.path(ofLink: "http://evil.example:8080/api/v1/pools/tiny/desktop") }
        #expect(throws: UnexpectedAnswer.self) { try api.path(ofLink: "https://127.0.0.1:8080/x") }
    }

    @Test func keepsAPathPrefix() throws {
        let prefixed = try APIClient(server: "https://vdi.example.org/deskpool")
        #expect(try prefixed.url(for: .hosts) == "https://vdi.example.org/deskpool/api/v1/admin/hosts")
        #expect(try prefixed.path(ofLink: "https://vdi.example.org/deskpool/api/v1/pools/x/desktop") == "/api/v1/pools/x/desktop")
    }

    @Test func theTokenIsNeverInADescription() {
        #expect(!String(describing: api).contains("s3cret"))
        #expect(!String(reflecting: api).contains("s3cret"))
        var dumped = ""
        dump(api, to: &dumped)
        #expect(!dumped.contains("s3cret"))
    }

    static let request = Endpoint(.post, "/api/v1/pools/tiny/desktop")

    @Test func desktopAnswerWithTheFile() throws {
        let vv = "[virt-viewer]\ntype=spice\nhost=127.0.0.1\npassword=x\n"
        let answer = APIClient.Answer(status: 200, headers: [("Content-Type", "application/x-virt-viewer"), ("deskpool-desktop", "d-1")], body: Data(vv.utf8))
        #expect(try APIClient.desktopAnswer(answer, request: Self.request) == .file(vv: vv, desktopID: "d-1"))
    }

    @Test func desktopAnswerPreparing() throws {
        let desktop = DesktopView(Desktop(id: "d-2", name: "tiny-002", pool: "tiny", host: "local", template: "tiny-linux", version: 1,
                                          createdAt: Date(timeIntervalSince1970: 1_800_000_000)))
        let preparing = PreparingAnswer(desktop: desktop, estimateSeconds: 40, poll: "/api/v1/pools/tiny/desktop")
        let answer = APIClient.Answer(status: 202, headers: [("Retry-After", "2")], body: try APIJSON.encoder().encode(preparing))
        #expect(try APIClient.desktopAnswer(answer, request: Self.request) == .preparing(preparing, retryAfterSeconds: 2))
    }

    @Test func desktopAnswerErrors() {
        let exhausted = APIClient.Answer(status: 409, headers: [], body: Data(#"{"error":{"code":"exhausted","message":"pool tiny has no desktop left"}}"#.utf8))
        #expect(throws: ClientError(status: 409, code: "exhausted", message: "pool tiny has no desktop left")) {
            try APIClient.desktopAnswer(exhausted, request: Self.request)
        }
        let noHeader = APIClient.Answer(status: 200, headers: [], body: Data("[virt-viewer]\n".utf8))
        #expect(throws: UnexpectedAnswer.self) { try APIClient.desktopAnswer(noHeader, request: Self.request) }
    }

    @Test func anUnreachableServerIsNamed() async throws {
        // Port 9 on loopback: nothing listens there on a test machine.
        let client = try APIClient(server: "http://127.0.0.1:9", requestTimeout: .seconds(5))
        await #expect {
            _ = try await client.hosts()
        } throws: { error in
            guard let error = error as? ServerUnreachable else { return false }
            return error.server == "http://127.0.0.1:9" && error.description.hasPrefix("error: cannot reach the broker at http://127.0.0.1:9: ")
        }
    }
}
