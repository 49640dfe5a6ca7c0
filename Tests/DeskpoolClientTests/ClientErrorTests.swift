import DeskpoolClient
import DeskpoolCore
import Foundation
import Testing

@Suite struct ClientErrorTests {
    @Test func decodesTheAPIErrorBody() {
        let body = Data(#"{"error": {"code": "notFound", "message": "no pool named x"}}"#.utf8)
        let error = ClientError(status: 404, body: body)
        #expect(error == ClientError(status: 404, code: "notFound", message: "no pool named x"))
        #expect(error.description == "error: notFound: no pool named x")
    }

    @Test func namesTheField() {
        let body = Data(#"{"error": {"code": "invalidInput", "message": "must not be negative", "field": "min"}}"#.utf8)
        let error = ClientError(status: 400, body: body)
        #expect(error.field == "min")
        #expect(error.description == "error: invalidInput: min: must not be negative")
    }

    @Test func roundTripsWhatTheServerEncodes() throws {
        let body = try APIJSON.encoder().encode(APIErrorBody(code: "exhausted", message: "pool tiny has no desktop left"))
        let error = ClientError(status: 409, body: body, retryAfterSeconds: nil)
        #expect(error.code == "exhausted")
        #expect(error.description == "error: exhausted: pool tiny has no desktop left")
        #expect(error.hint != nil)
        let field = try APIJSON.encoder().encode(APIErrorBody(DeskpoolError(.notFound, "no such template", field: "template")))
        #expect(ClientError(status: 404, body: field).description == "error: notFound: template: no such template")
    }

    @Test func keepsRetryAfter() {
        let body = Data(#"{"error": {"code": "throttled", "message": "too many logins"}}"#.utf8)
        #expect(ClientError(status: 429, body: body, retryAfterSeconds: 7).hint == "too many attempts; wait 7 s")
    }

    @Test func aBodyThatIsNotAnAPIErrorStillSaysSomething() {
        let error = ClientError(status: 502, body: Data("<html>\n<h1>Bad Gateway</h1>\n</html>".utf8))
        #expect(error.code == "http502")
        #expect(error.description == "error: http502: the server answered 502: <html> <h1>Bad Gateway</h1> </html>")
        #expect(ClientError(status: 500, body: Data()).description == "error: http500: the server answered 500 without an error body")
    }

    @Test func unreachableNamesTheServer() {
        #expect(ServerUnreachable(server: "http://10.0.0.9:8080", reason: "connection refused").description
                == "error: cannot reach the broker at http://10.0.0.9:8080: connection refused")
    }
}
