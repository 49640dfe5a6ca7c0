import Foundation

/// Who the client of a request is, when reverse proxies may stand in between.
public enum ForwardedClient {
    /// The client's address: the peer's, unless the peer is one of `trusted`; then the rightmost
    /// address of `X-Forwarded-For` (all its values, in order) that is not a trusted proxy. A
    /// malformed entry stops the walk at the last proxy that was trusted (it is the one that
    /// talked to the client), so a client cannot name an address of its choosing.
    public static func address(peer: String?, forwardedFor headers: [String], trusted: [IPNetwork]) -> String? {
        guard let peer, !trusted.isEmpty else { return peer }
        func isTrusted(_ text: String) -> Bool {
            guard let address = IPNetwork.Address(text) else { return false }
            return trusted.contains { $0.contains(address) }
        }
        var client = peer
        // Each proxy appends; read from the right, at most 32 hops (the header is the client's).
        let hops = headers.flatMap { $0.split(separator: ",") }.suffix(32).map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard isTrusted(client), IPNetwork.Address(hop) != nil else { break }
            client = hop
        }
        return client
    }
}
