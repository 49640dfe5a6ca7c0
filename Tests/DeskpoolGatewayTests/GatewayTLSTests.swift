import DeskpoolCore
import DeskpoolGateway
import DeskpoolTestRigs
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// `gateway.tls`: a browser console's `wss://` on the gateway's port, while remote-viewer's
/// CONNECT stays plain on the same port.
@Suite("Gateway TLS for browser consoles", .timeLimit(.minutes(1)))
struct GatewayTLSTests {
    @Test("a TLS connection gets the WebSocket relay over TLS; a plain CONNECT on the same port still works")
    func wssAndPlainConnect() async throws {
        let certificate = try TestCertificate.make()
        defer { certificate.remove() }
        let files = HTTPConfiguration.TLS(certificateFile: certificate.certificateFile, keyFile: certificate.keyFile)
        var options = GatewayHarness.Options()
        options.tls = try SpiceGateway.tlsContext(files)
        try await GatewayHarness.run(options) { h in
            // wss: TLS first, then the same upgrade and frames as in the clear.
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .file(files.certificateFile)
            let context = try NIOSSLContext(configuration: configuration)
            let client = try await Peer.connect(port: h.port) { channel in
                try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil), position: .first)
            }
            try await client.send(GatewayWebSocketTests.upgrade(token: h.token(), port: h.upstream.port, host: "127.0.0.1:\(h.port)"))
            #expect(try await client.responseStatus() == 101)
            try await client.send(GatewayWebSocketTests.frame(Array("RFB 003.008\n".utf8)))
            let display = try await h.upstream.connection()
            try await display.waitForBytes(count: 12)
            #expect(display.received == Array("RFB 003.008\n".utf8))
            try await client.waitForPayload(count: 14)
            #expect(client.payload == [0x82, 12] + Array("RFB 003.008\n".utf8))

            let (plain, status) = try await h.tunnel(session: "session-2")
            #expect(status == 200, "remote-viewer's CONNECT stays plain")
            await plain.close()
        }
    }

    @Test("a certificate that cannot be read is a clear configuration error")
    func unreadable() {
        let error = #expect(throws: DeskpoolError.self) {
            _ = try SpiceGateway.tlsContext(.init(certificateFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem"))
        }
        #expect(error?.code == .invalidInput && error?.field == "gateway.tls")
    }
}
