import DeskpoolCore
import DeskpoolServer
import DeskpoolTestRigs
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@Suite("HTTPS from the configured certificate and key")
struct TLSTests {
    @Test("the application serves HTTPS, sends HSTS and marks the session cookie Secure")
    func https() async throws {
        let certificate = try TestCertificate.make()
        defer { certificate.remove() }
        let (cert, key) = (certificate.certificateFile, certificate.keyFile)

        let rig = try await ServerTestRig {
            $0.tls = .init(certificateFile: cert, keyFile: key)
            $0.port = 0
        }
        let app = try rig.server.application(logger: Logger(label: "test"))
        try await app.test(.ahc(.https)) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.strictTransportSecurity] == "max-age=31536000")
            }
            let login = try await client.call(.post, "/api/v1/auth/login", json: LoginRequest(user: "alice", password: "alice-pw"))
            #expect(login.status == .ok)
            #expect(login.headers[.setCookie]?.contains("Secure") == true)
        }
    }

    @Test("a missing certificate file is a clear configuration error")
    func missingCertificate() async throws {
        let rig = try await ServerTestRig { $0.tls = .init(certificateFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem") }
        let error = #expect(throws: DeskpoolError.self) { _ = try rig.server.application(logger: Logger(label: "test")) }
        #expect(error?.field == "http.tls")
    }
}
