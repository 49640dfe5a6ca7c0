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
    public var maxTunnels: Int = 1024
    /// Seconds without traffic either way after which a tunnel is closed (0: never).
    public var idleTimeoutSeconds: Int = 3600

    public init() {}

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
        if let address, let ip = IPNetwork.Address(address),
           let entry = publicAddresses.first(where: { $0.networks.contains { $0.contains(ip) } }) {
            return entry.proxy
        }
        if let entry = publicAddresses.first(where: { $0.networks.isEmpty }) { return entry.proxy }
        let host = listen.contains(":") ? "[\(listen)]" : listen
        return "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case enabled, listen, port, publicAddresses, tokenSeconds, maxTunnelsPerSession, maxTunnels, idleTimeoutSeconds
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
    }
}
