/// The SPICE gateway (`gateway:` in deskpool.yaml): an HTTP CONNECT proxy for consoles, so
/// hypervisor SPICE ports never need to be reachable from client networks.
public struct GatewayConfiguration: Sendable, Hashable, Decodable {
    /// Whether `deskpool serve` runs the gateway and `.vv` files point at it.
    public var enabled: Bool = true
    /// Address and port the gateway listens on.
    public var listen: String = "127.0.0.1"
    public var port: Int = 8081
    /// What clients are told to use as `proxy=`: the first entry whose networks contain the
    /// client's address wins. Default: the listen address, for every client.
    public var publicAddresses: [PublicAddress] = []
    /// Seconds a connect token is accepted after it was issued (each SPICE channel is a new
    /// CONNECT, so it must outlive the channel set-up, not the session).
    public var tokenSeconds: Int = 300
    /// Tunnels (SPICE channels) one session may hold at once, and all sessions together.
    public var maxTunnelsPerSession: Int = 16
    /// The default holds 4,000 idle consoles of 8 SPICE channels (Horizon sizes one
    /// Connection Server for 4,000 sessions); `deskpool serve` raises its open-file limit to
    /// match (two descriptors per tunnel).
    public var maxTunnels: Int = 32_768
    /// Seconds without traffic either way after which a tunnel is closed (0: never).
    public var idleTimeoutSeconds: Int = 3600
    /// Origins (`scheme://host[:port]`) whose pages may open a browser console through the
    /// WebSocket relay. Empty: a page from the host name the relay itself is reached at (any
    /// port, http or https), which is the portal when it runs next to the gateway.
    public var allowedOrigins: [String] = []
    /// TLS for browser consoles (`wss://`) on the gateway's port: a connection that starts
    /// with a TLS handshake is served with this certificate; CONNECT requests (remote-viewer's
    /// proxy is plain HTTP) stay plain on the same port. nil: plain only.
    public var tls: HTTPConfiguration.TLS?

    public init() {}

    /// The public address for a client at `address`: the first entry whose networks hold it,
    /// else the first for everyone (`networks: []`); nil when none is.
    func publicAddress(forClient address: String?) -> PublicAddress? {
        if let address, let ip = IPNetwork.Address(address),
           let entry = publicAddresses.first(where: { $0.networks.contains { $0.contains(ip) } }) {
            return entry
        }
        return publicAddresses.first { $0.networks.isEmpty }
    }

    /// Where a browser console page reaches the WebSocket relay: the host and port of the
    /// public address for the client (as for `proxy=`), or, when none is for it, the page's
    /// own host name (nil) and the gateway's port.
    public func browserRelay(forClient address: String?) -> (host: String?, port: Int) {
        guard let proxy = publicAddress(forClient: address)?.proxy else { return (nil, port) }
        let rest = proxy.dropFirst("http://".count)
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) else { return (nil, self.port) }
        var host = String(rest[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// Whether a browser page of `origin` may use the relay reached as `host` (the request's
    /// Host header, port included or not).
    public func allowsOrigin(_ origin: String, relayHost host: String) -> Bool {
        let origin = origin.lowercased()
        if !allowedOrigins.isEmpty { return allowedOrigins.contains { $0.lowercased() == origin } }
        guard let originHost = Self.hostName(ofOrigin: origin), let relayHost = Self.hostName(ofAuthority: host.lowercased()) else { return false }
        return originHost == relayHost
    }

    /// `host` of `http(s)://host[:port]`; nil for anything else (`null`, a path, a user part).
    static func hostName(ofOrigin origin: String) -> String? {
        let rest: Substring
        if origin.hasPrefix("https://") { rest = origin.dropFirst(8) } else if origin.hasPrefix("http://") { rest = origin.dropFirst(7) } else { return nil }
        guard !rest.contains("/"), !rest.contains("@") else { return nil }
        return hostName(ofAuthority: String(rest))
    }

    /// `host` of `host[:port]` or `[v6][:port]`.
    static func hostName(ofAuthority authority: String) -> String? {
        if authority.hasPrefix("[") {
            guard let end = authority.firstIndex(of: "]") else { return nil }
            return String(authority[authority.index(after: authority.startIndex)..<end])
        }
        let host = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return host.isEmpty ? nil : host
    }

    static func isOrigin(_ text: String) -> Bool {
        guard let host = hostName(ofOrigin: text.lowercased()) else { return false }
        return host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-:".contains($0)) } && text.count <= 255
    }

    public struct PublicAddress: Sendable, Hashable, Decodable {
        /// Client networks (CIDR, IPv4 or IPv6) this entry is for.
        public var networks: [IPNetwork]
        /// The proxy URL written into `.vv` files: http://HOST:PORT.
        public var proxy: String

        public init(networks: [IPNetwork], proxy: String) {
            self.networks = networks
            self.proxy = proxy
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case networks, proxy }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, in: "gateway.publicAddresses")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            var networks: [IPNetwork] = []
            for text in try c.decode([String].self, forKey: .networks) {
                guard let network = IPNetwork(text) else {
                    throw try c.superDecoder(forKey: .networks).invalid("gateway.publicAddresses.networks: '\(text)' is not a network such as 10.0.0.0/8")
                }
                networks.append(network)
            }
            self.networks = networks
            proxy = try c.decode(String.self, forKey: .proxy)
            guard Self.isProxyURL(proxy) else {
                throw try c.superDecoder(forKey: .proxy).invalid("gateway.publicAddresses.proxy must be http://HOST:PORT, not '\(proxy)'")
            }
        }

        static func isProxyURL(_ text: String) -> Bool {
            guard text.hasPrefix("http://") else { return false }
            let rest = text.dropFirst("http://".count)
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else { return false }
            let host = rest[..<colon]
            return !host.isEmpty && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-[]:".contains($0)) }
        }
    }

    /// The `proxy=` for a client at `address` (nil: unknown).
    public func proxy(forClient address: String?) -> String {
        if let entry = publicAddress(forClient: address) { return entry.proxy }
        let host = listen.contains(":") ? "[\(listen)]" : listen
        return "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case enabled, listen, port, publicAddresses, tokenSeconds, maxTunnelsPerSession, maxTunnels, idleTimeoutSeconds, allowedOrigins, tls
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "gateway")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? enabled
        if let listen = try c.decodeIfPresent(String.self, forKey: .listen) {
            guard IPNetwork.Address(listen) != nil else { throw try c.superDecoder(forKey: .listen).invalid("gateway.listen must be an IP address") }
            self.listen = listen
        }
        port = try c.decodeBounded(.port, 1...65535) ?? port
        publicAddresses = try c.decodeIfPresent([PublicAddress].self, forKey: .publicAddresses) ?? []
        tokenSeconds = try c.decodeBounded(.tokenSeconds, 10...86400) ?? tokenSeconds
        maxTunnelsPerSession = try c.decodeBounded(.maxTunnelsPerSession, 1...256) ?? maxTunnelsPerSession
        maxTunnels = try c.decodeBounded(.maxTunnels, 1...100_000) ?? maxTunnels
        idleTimeoutSeconds = try c.decodeBounded(.idleTimeoutSeconds, 0...604_800) ?? idleTimeoutSeconds
        tls = try c.decodeIfPresent(HTTPConfiguration.TLS.self, forKey: .tls)
        allowedOrigins = try c.decodeIfPresent([String].self, forKey: .allowedOrigins) ?? []
        for origin in allowedOrigins where !Self.isOrigin(origin) {
            throw try c.superDecoder(forKey: .allowedOrigins).invalid("gateway.allowedOrigins: '\(origin.prefix(80))' is not an origin such as https://desktops.example.org")
        }
    }
}
