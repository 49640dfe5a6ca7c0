import Crypto
import Foundation

/// A browser console's WebSocket upgrade: `GET /console?token=TOKEN&port=PORT HTTP/1.1` with
/// the upgrade headers (RFC 6455) and the page's `Origin`. The token and port are checked
/// like a CONNECT's, the origin against `gateway.allowedOrigins`; nothing else in the head
/// is used.
struct WebSocketRequest: Hashable, Sendable {
    /// The connect token's text and the display port asked for.
    var connect: ConnectRequest
    var origin: String
    /// The `Host` header, for the default origin check.
    var host: String
    var key: String
    /// The client offered the `binary` subprotocol (older noVNC does): it is answered.
    var binaryProtocol: Bool

    static let path = "/console"
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Whether a head is a GET (so possibly a WebSocket upgrade rather than a CONNECT).
    static func isGet(head: String) -> Bool { head.utf8.starts(with: "GET ".utf8) }

    /// Parses a GET head: one for another path is `.methodNotAllowed` (the gateway is not a web
    /// proxy), anything but a complete upgrade to `/console` with a token and a port
    /// `.badWebSocketRequest`, a missing `Origin` `.originNotAllowed`.
    static func parse(head: String) -> Result<WebSocketRequest, TunnelRefusal> {
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let parts = (lines.first ?? "").split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "GET", parts[2] == "HTTP/1.1" else { return .failure(.badWebSocketRequest) }
        let target = parts[1]
        let (path, query) = target.firstIndex(of: "?").map { (target[..<$0], target[target.index(after: $0)...]) } ?? (target, "")
        // Any other GET (a web proxy request, a scanner) is what it was before browser consoles.
        guard path == Self.path else { return .failure(.methodNotAllowed) }
        var parameters: [Substring: Substring] = [:]
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, parameters[kv[0]] == nil else { return .failure(.badWebSocketRequest) }
            parameters[kv[0]] = kv[1]
        }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .failure(.badWebSocketRequest) }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            // A repeated field is joined, as HTTP says for list fields; the checks then see both.
            fields[name] = fields[name].map { "\($0), \(value)" } ?? value
        }
        guard let token = parameters["token"], !token.isEmpty,
              let portText = parameters["port"], let port = Int(portText), (1...65535).contains(port),
              Self.tokens(fields["upgrade"]).contains("websocket"), Self.tokens(fields["connection"]).contains("upgrade"),
              fields["sec-websocket-version"] == "13",
              let key = fields["sec-websocket-key"], Data(base64Encoded: key)?.count == 16,
              let host = fields["host"], !host.isEmpty
        else { return .failure(.badWebSocketRequest) }
        guard let origin = fields["origin"], !origin.isEmpty else { return .failure(.originNotAllowed) }
        let binary = Self.tokens(fields["sec-websocket-protocol"]).contains("binary")
        return .success(WebSocketRequest(connect: ConnectRequest(host: String(token), port: port), origin: origin, host: host, key: key,
                                         binaryProtocol: binary))
    }

    /// The lower-cased, comma-separated tokens of a header field.
    private static func tokens(_ value: String?) -> [String] {
        (value ?? "").lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The 101 answer that completes the upgrade.
    var acceptResponse: String {
        let accept = Data(Insecure.SHA1.hash(data: Data((key + Self.guid).utf8))).base64EncodedString()
        let subprotocol = binaryProtocol ? "Sec-WebSocket-Protocol: binary\r\n" : ""
        return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n\(subprotocol)\r\n"
    }
}
