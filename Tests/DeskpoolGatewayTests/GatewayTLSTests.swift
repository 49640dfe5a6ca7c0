import DeskpoolCore
import DeskpoolGateway
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// `gateway.tls`: a browser console's `wss://` on the gateway's port, while remote-viewer's
/// CONNECT stays plain on the same port.
@Suite("Gateway TLS for browser consoles", .timeLimit(.minutes(1)))
struct GatewayTLSTests {
    /// A self-signed certificate for 127.0.0.1 (openssl), and its files' directory.
    static func certificate() throws -> (HTTPConfiguration.TLS, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-gw-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let (cert, key) = (directory.appendingPathComponent("cert.pem").path, directory.appendingPathComponent("key.pem").path)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0, "openssl made a test certificate")
        return (HTTPConfiguration.TLS(certificateFile: cert, keyFile: key), directory)
    }

    @Test("a TLS connection gets the WebSocket relay over TLS; a plain CONNECT on the same port still works")
    func wssAndPlainConnect() async throws {
        let (files, directory) = try Self.certificate()
        defer { try? FileManager.default.removeItem(at: directory) }
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
