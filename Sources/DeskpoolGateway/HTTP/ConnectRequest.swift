/// The request line of a proxy request, which is all the gateway reads of it: spice-gtk sends
/// `CONNECT host:port HTTP/1.0` (or 1.1) per channel, with the `.vv` file's `host`, a connect
/// token, passed unresolved. Header fields are skipped: nothing in them is trusted.
struct ConnectRequest: Hashable, Sendable {
    /// The CONNECT target's host part: the connect token's text, as the client sent it.
    var host: String
    var port: Int

    /// Parses a request head (everything before the blank line). A method other than CONNECT is
    /// refused with 405; anything that is not an HTTP/1.x request line with a `host:port`
    /// target with 400. An IPv6 literal target (`[::1]:5900`) parses, and is then refused as a
    /// malformed token like any other host that is not one.
    static func parse(head: String) -> Result<ConnectRequest, TunnelRefusal> {
        // By bytes: "\r\n" is one Character, so a Character test would never see the "\r".
        let requestLine = Substring(head.utf8.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") })
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0", !parts[0].isEmpty else {
            return .failure(.badRequest)
        }
        guard parts[0] == "CONNECT" else { return .failure(.methodNotAllowed) }
        let target = parts[1]
        // The port follows the last colon, so an IPv6 literal keeps its colons in the host.
        guard let colon = target.lastIndex(of: ":"),
              let port = Int(target[target.index(after: colon)...]), (1...65535).contains(port),
              colon > target.startIndex
        else { return .failure(.badRequest) }
        return .success(ConnectRequest(host: String(target[..<colon]), port: port))
    }
}
