@testable import DeskpoolGateway
import Testing

@Suite("CONNECT request head")
struct ConnectRequestTests {
    @Test("spice-gtk's request: host is the token text, port is the display's")
    func spiceGtkRequest() {
        let head = "CONNECT abcdef.ghij:5900 HTTP/1.0\r\nHost: abcdef.ghij:5900\r\nProxy-Connection: keep-alive"
        #expect(ConnectRequest.parse(head: head) == .success(ConnectRequest(host: "abcdef.ghij", port: 5900)))
        #expect(ConnectRequest.parse(head: "CONNECT t:5901 HTTP/1.1") == .success(ConnectRequest(host: "t", port: 5901)))
    }

    @Test("other methods are 405, broken request lines 400", arguments: [
        ("GET / HTTP/1.1", TunnelRefusal.methodNotAllowed),
        ("POST t:80 HTTP/1.1", .methodNotAllowed),
        ("CONNECT t:5900", .badRequest),
        ("CONNECT t:5900 HTTP/2", .badRequest),
        ("CONNECT  t:5900 HTTP/1.1", .badRequest),
        ("CONNECT t HTTP/1.1", .badRequest),
        ("CONNECT t:0 HTTP/1.1", .badRequest),
        ("CONNECT t:65536 HTTP/1.1", .badRequest),
        ("CONNECT t:59x0 HTTP/1.1", .badRequest),
        ("CONNECT :5900 HTTP/1.1", .badRequest),
        ("", .badRequest),
    ])
    func refused(head: String, refusal: TunnelRefusal) {
        #expect(ConnectRequest.parse(head: head) == .failure(refusal))
    }

    @Test("an IPv6 literal parses to a host that is not a token (refused by verification)")
    func ipv6Literal() {
        #expect(ConnectRequest.parse(head: "CONNECT [::1]:5900 HTTP/1.1") == .success(ConnectRequest(host: "[::1]", port: 5900)))
    }

    @Test("the scanner finds the blank line across pieces, and stops at 8 KiB")
    func scanner() {
        var scanner = HeadScanner()
        var bytes = Array("CONNECT t:1 HTTP/1.0\r\nHost: t:1\r".utf8)
        #expect(scanner.scan(bytes) == .incomplete)
        bytes += Array("\n\r\nREDQ".utf8)
        #expect(scanner.scan(bytes) == .complete(headLength: bytes.count - 8))

        var large = HeadScanner()
        let full = Array(repeating: UInt8(ascii: "a"), count: HeadScanner.maximumHeadLength)
        #expect(large.scan(full) == .incomplete)
        #expect(large.scan(full + Array("\r\n\r\n".utf8)) == .complete(headLength: HeadScanner.maximumHeadLength))
        var tooLarge = HeadScanner()
        #expect(tooLarge.scan(full + Array("a\r\n\r\n".utf8)) == .tooLarge)
    }

    @Test("refusal responses carry the status, a reason phrase and Connection: close")
    func responses() throws {
        let response = try #require(TunnelRefusal.expiredToken.response)
        #expect(response == "HTTP/1.1 403 Connect Token Expired\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        #expect(TunnelRefusal.methodNotAllowed.response?.contains("\r\nAllow: CONNECT\r\n") == true)
        #expect(TunnelRefusal.forbiddenChannel.response == nil)
    }
}
