import DeskpoolCore
import DeskpoolServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("API: bad input gets a 4xx with a message, never a 500")
struct InputAPITests {
    @Test("malformed JSON, wrong types, missing fields, unknown keys, wrong media type", arguments: [
        ("/api/v1/auth/login", "{", "not valid JSON"),
        ("/api/v1/auth/login", "[]", "must be an object"),
        // The password may be left out (its prompt then comes back as a challenge); the user may not.
        ("/api/v1/auth/login", "{\"password\": \"x\"}", "user is missing"),
        ("/api/v1/auth/login/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "{\"answers\": \"123456\"}", "answers"),
        ("/api/v1/auth/login", "{\"user\": 7, \"password\": \"x\"}", "user must be a string"),
        ("/api/v1/auth/login", "{\"user\": null, \"password\": \"x\"}", "user must be a string, not null"),
        ("/api/v1/admin/pools", "{\"name\": \"x\", \"template\": \"tiny\", \"mx\": 3}", "mx"),
        ("/api/v1/admin/pools", "{\"name\": \"x\", \"template\": \"tiny\", \"max\": \"many\"}", "max must be an integer"),
        ("/api/v1/admin/pools", "{\"name\": \"x y\", \"template\": \"tiny\"}", "letters, digits"),
        ("/api/v1/admin/pools", "{\"name\": \"x\", \"template\": \"tiny\", \"min\": 5, \"max\": 2}", "must not exceed"),
        ("/api/v1/admin/pools", "{\"name\": \"x\", \"template\": \"tiny\", \"console\": {\"ticketSeconds\": 9999}}", "ticketSeconds"),
        ("/api/v1/admin/pools/eng/scale", "{\"spare\": -1}", "spare"),
        ("/api/v1/admin/pools/eng/scale", "{\"max\": 288230376151711745}", "between 1 and 10000"),
        ("/api/v1/admin/pools", "{\"name\": \"x\", \"template\": \"tiny\", \"maxPerUser\": 1000}", "between 1 and 100"),
    ])
    func badBodies(path: String, body: String, mention: String) async throws {
        let rig = try await ServerTestRig()
        try await rig.harness.admin.applyPool(PoolSpec(name: "eng", template: "tiny", groups: ["staff"]), actor: "admin:test")
        try await rig.test { client in
            let root = try await client.login("root")
            let answer = try await client.call(.post, path, root.bearer, raw: body)
            #expect(answer.status == .badRequest, "\(body)")
            #expect(answer.body.errorCode == "invalidInput")
            #expect(answer.body.text.contains(mention), "\(answer.body.text)")
            #expect(!answer.body.text.contains("DecodingError") && !answer.body.text.contains("codingPath"))
        }
    }

    @Test("a body above http.maxBodyBytes is 413, declared or chunked; a non-JSON media type 415")
    func sizesAndTypes() async throws {
        let rig = try await ServerTestRig { $0.maxBodyBytes = 2048 }
        try await rig.test { client in
            let huge = String(repeating: "x", count: 10_000)
            let answer = try await client.call(.post, "/api/v1/auth/login", raw: "{\"user\": \"alice\", \"password\": \"\(huge)\"}")
            #expect(answer.status == .contentTooLarge)
            #expect(answer.body.errorCode == "tooLarge")
            let form = try await client.call(.post, "/api/v1/auth/login", [.contentType: "text/plain"], raw: "user=alice")
            #expect(form.status == .unsupportedMediaType)
            #expect(rig.authenticator.attempts == 0)
        }
    }

    @Test("a library's own text never reaches a client: a hypervisor failure is answered in the broker's words")
    func libraryTextStaysInTheLog() async throws {
        let rig = try await ServerTestRig()
        try await rig.withEngPool(ready: 1) {}
        // The broker is stopped: nobody notices the domain is gone but the reboot.
        let desktop = try #require(try await rig.harness.desktops("eng", in: [.ready]).first)
        rig.fake.vanish(desktop.name)
        try await rig.test { client in
            let root = try await client.login("root")
            let answer = try await client.call(.post, "/api/v1/admin/desktops/\(desktop.id)/reboot", root.bearer)
            #expect(answer.status == .badGateway)
            #expect(answer.body.errorCode == "hypervisorFailed")
            #expect(!answer.body.text.contains(desktop.name) && answer.body.text.contains("the broker's log has the detail"))
            let another = try await client.call(.post, "/api/v1/pools/eng/desktop?another=maybe", try await client.login("alice").bearer)
            #expect(another.status == .badRequest && another.body.text.contains("another"))
        }
    }

    @Test("unknown ids and names are 404s with a JSON body; malformed names 400s naming the field")
    func unknownIDs() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let root = try await client.login("root")
            for path in ["/api/v1/admin/pools/%3Cscript%3E", "/api/v1/admin/templates/\(String(repeating: "a", count: 500))"] {
                let answer = try await client.call(.get, path, root.bearer)
                #expect(answer.status == .badRequest && answer.body.errorCode == "invalidInput", "\(path)")
                #expect(!answer.body.text.contains("<script"))
            }
            for path in ["/api/v1/admin/pools/nope", "/api/v1/admin/desktops/0000", "/api/v1/admin/templates/nope",
                         "/api/v1/admin/desktops/\(String(repeating: "a", count: 500))"] {
                let answer = try await client.call(.get, path, root.bearer)
                #expect(answer.status == .notFound, "\(path)")
                #expect(answer.body.errorCode == "notFound")
                #expect(!answer.body.text.contains("<script"))
            }
        }
    }
}
