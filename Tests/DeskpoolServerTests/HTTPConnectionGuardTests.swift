import DeskpoolCore
import DeskpoolServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// `http.connections` on a live server: a slow head, a dripping body and too many connections
/// from one address cannot hold the broker's sockets.
@Suite("HTTP connection guards", .timeLimit(.minutes(2)))
struct HTTPConnectionGuardTests {
    static func live(configure: @escaping @Sendable (inout HTTPConnectionConfiguration) -> Void = { _ in },
                     _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let rig = try await ServerTestRig {
            $0.port = 0
            // 2 s: every suite runs at once in pass 1, and a loaded 2-core machine can delay a
            // connection's first read by a second; the drips below last 9 s.
            $0.connections.headerTimeoutSeconds = 2
            $0.connections.bodyTimeoutSeconds = 2
            $0.connections.idleTimeoutSeconds = 30
            configure(&$0.connections)
        }
        let app = try rig.server.application(logger: Logger(label: "test"))
        try await app.test(.live) { client in
            try await body(try #require(client.port))
        }
    }

    @Test("a request head sent one header at a time is cut at headerTimeoutSeconds")
    func slowHead() async throws {
        try await Self.live { port in
            let connection = try RawConnection(port: port)
            await connection.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            // One header line every 0.3 s: each read is activity, so only a head deadline ends it.
            let closedAfter = await connection.dripUntilClosed(count: 30) { "X-Slow-\($0): x\r\n" }
            #expect(closedAfter != nil, "the connection was still open after 9 s of a never-ending head")
            #expect((closedAfter ?? .infinity) < 7)
        }
    }

    @Test("a connection idle between requests is not cut by the head deadline; the next request is answered")
    func keepAliveBetweenRequests() async throws {
        try await Self.live { port in
            let connection = try RawConnection(port: port)
            await connection.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(await connection.responseStatusLine(timeout: 15) == "HTTP/1.1 200 OK")
            try await Task.sleep(for: .milliseconds(2500))
            await connection.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(await connection.responseStatusLine(timeout: 15) == "HTTP/1.1 200 OK")
        }
    }

    @Test("a request body dripped byte by byte is cut at bodyTimeoutSeconds")
    func drippingBody() async throws {
        try await Self.live { port in
            let connection = try RawConnection(port: port)
            await connection.send("POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
            let closedAfter = await connection.dripUntilClosed(count: 30) { _ in " " }
            #expect(closedAfter != nil, "the connection was still open after 9 s of a dripping body")
            #expect((closedAfter ?? .infinity) < 7)
        }
    }

    @Test("an anonymous 'upload' (exempt from the body deadline while an admin's is read) is answered 401, then cut at bodyTimeoutSeconds")
    func anonymousUploadBody() async throws {
        try await Self.live { port in
            let connection = try RawConnection(port: port)
            await connection.send("POST /api/v1/admin/templates/tiny/versions?note=x HTTP/1.1\r\nHost: localhost\r\n"
                            + "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            #expect(await connection.responseStatusLine(timeout: 15) == "HTTP/1.1 401 Unauthorized")
            // The server answered; what the client still sends is read and dropped only until
            // the body deadline.
            let closedAfter = await connection.dripUntilClosed(count: 30) { _ in "1\r\nx\r\n" }
            #expect(closedAfter != nil, "the server kept reading an answered anonymous upload for 9 s")
            #expect((closedAfter ?? .infinity) < 7)
        }
    }

    @Test("connections beyond maxConnectionsPerAddress are closed at once; the first ones stay")
    func perAddressCap() async throws {
        try await Self.live(configure: { $0.maxConnectionsPerAddress = 3; $0.headerTimeoutSeconds = 30 }) { port in
            // One at a time, so the server counts them in order. (The test client may hold a
            // connection of its own from the same address: then the third is refused too.)
            var held: [RawConnection] = []
            for _ in 0..<5 {
                held.append(try RawConnection(port: port))
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(await held[3].closedByServer(within: 5), "a fourth connection from one address was kept")
            #expect(await held[4].closedByServer(within: 5), "a fifth connection from one address was kept")
            #expect(!(await held[0].closedByServer(within: 0.2)), "the first connection stays open")
        }
    }

    @Test("http.connections decodes with bounds and rejects unknown keys")
    func configuration() throws {
        let yaml = "http:\n  connections:\n    headerTimeoutSeconds: 5\n    maxConnectionsPerAddress: 10\n"
        let decoded = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: yaml)
        #expect(decoded.http.connections.headerTimeoutSeconds == 5)
        #expect(decoded.http.connections.maxConnectionsPerAddress == 10)
        #expect(decoded.http.connections.bodyTimeoutSeconds == 60)
        #expect(throws: (any Error).self) {
            try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: "http:\n  connections:\n    headerTimeoutSeconds: 0\n")
        }
        #expect(throws: (any Error).self) {
            try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: "http:\n  connections:\n    readTimeout: 5\n")
        }
    }
}
