/// The HTTP API and portal (`http:` in deskpool.yaml).
public struct HTTPConfiguration: Sendable, Hashable, Decodable {
    /// Address and port the API and portal listen on.
    public var listen: String = "127.0.0.1"
    public var port: Int = 8080
    /// HTTPS from a PEM certificate chain and key; nil: plain HTTP (loopback or behind a
    /// TLS-terminating proxy only).
    public var tls: TLS?
    /// Largest request body accepted (bytes); larger ones get 413.
    public var maxBodyBytes: Int = 1_048_576
    /// A login session ends this many hours after the login ...
    public var sessionHours: Int = 12
    /// ... or after this many minutes without a request.
    public var sessionIdleMinutes: Int = 60
    /// Backoff and lockout after failed logins, per user name and per client address.
    public var loginThrottle = LoginThrottleConfiguration()
    /// Reverse proxies (addresses or networks, `10.0.0.0/8`) whose `X-Forwarded-For` header
    /// names the client: the client is the rightmost address in it that is not one of these.
    /// A request from any other peer is that peer's, whatever the header says. Empty: the peer.
    public var trustedProxies: [IPNetwork] = []
    /// Timeouts and connection caps (`HTTPConnectionConfiguration`).
    public var connections = HTTPConnectionConfiguration()
    /// Where Debian's `novnc` package puts the browser console client; the portal serves its
    /// `core` and `vendor` scripts under `/novnc/` from there (read-only, `.js` files only).
    public var novncDirectory: String = "/usr/share/novnc"

    public init() {}

    public struct TLS: Sendable, Hashable, Decodable {
        /// PEM file with the server certificate, then its intermediates.
        public var certificateFile: String
        /// PEM file with the private key (readable by the broker only).
        public var keyFile: String

        public init(certificateFile: String, keyFile: String) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case certificateFile, keyFile }

        /// `http.tls` or `gateway.tls`, from where it is in the file.
        public init(from decoder: any Decoder) throws {
            let section = decoder.codingPath.map(\.stringValue).joined(separator: ".")
            try decoder.rejectUnknownKeys(CodingKeys.self, in: section)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            certificateFile = try c.decode(String.self, forKey: .certificateFile)
            keyFile = try c.decode(String.self, forKey: .keyFile)
            for (key, path) in [(CodingKeys.certificateFile, certificateFile), (.keyFile, keyFile)] where !path.hasPrefix("/") {
                throw try c.superDecoder(forKey: key).invalid("\(section).\(key.stringValue) must be an absolute path")
            }
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, port, tls, maxBodyBytes, sessionHours, sessionIdleMinutes, loginThrottle, trustedProxies, connections, novncDirectory
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "http")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let listen = try c.decodeIfPresent(String.self, forKey: .listen) {
            guard IPNetwork.Address(listen) != nil else {
                throw try c.superDecoder(forKey: .listen).invalid("http.listen must be an IP address, not '\(listen)'")
            }
            self.listen = listen
        }
        port = try c.decodeBounded(.port, 1...65535) ?? port
        tls = try c.decodeIfPresent(TLS.self, forKey: .tls)
        maxBodyBytes = try c.decodeBounded(.maxBodyBytes, 1024...(64 << 20)) ?? maxBodyBytes
        sessionHours = try c.decodeBounded(.sessionHours, 1...720) ?? sessionHours
        sessionIdleMinutes = try c.decodeBounded(.sessionIdleMinutes, 1...10080) ?? sessionIdleMinutes
        loginThrottle = try c.decodeIfPresent(LoginThrottleConfiguration.self, forKey: .loginThrottle) ?? loginThrottle
        trustedProxies = try c.decodeIfPresent([IPNetwork].self, forKey: .trustedProxies) ?? trustedProxies
        connections = try c.decodeIfPresent(HTTPConnectionConfiguration.self, forKey: .connections) ?? connections
        if let directory = try c.decodeIfPresent(String.self, forKey: .novncDirectory) {
            guard directory.hasPrefix("/"), !directory.split(separator: "/").contains("..") else {
                throw try c.superDecoder(forKey: .novncDirectory).invalid("http.novncDirectory must be an absolute path")
            }
            novncDirectory = directory
        }
        guard trustedProxies.count <= 256 else {
            throw try c.superDecoder(forKey: .trustedProxies).invalid("http.trustedProxies may list at most 256 networks")
        }
    }
}

/// `http.loginThrottle`: how failed logins slow further attempts (`LoginThrottle`), and how
/// many logins may ask PAM at once (`LoginGate`).
public struct LoginThrottleConfiguration: Sendable, Hashable, Decodable {
    /// Wait after the first failure of a user from an address; doubles with each further one ...
    public var baseDelaySeconds: Int = 1
    /// ... up to this.
    public var maxDelaySeconds: Int = 30
    /// Failures in a row that lock a user name out at the address they came from (not at
    /// others: an attacker cannot lock a user out of the user's own address) ...
    public var lockoutFailures: Int = 10
    /// ... and that lock a client address out for every user (higher: many users may share
    /// one address).
    public var addressLockoutFailures: Int = 50
    /// How long a lockout lasts; failures older than this are forgotten.
    public var lockoutSeconds: Int = 900
    /// Logins from one client address that may ask PAM at once (one per user name, always);
    /// more wait in line ...
    public var maxConcurrentPerAddress: Int = 64
    /// ... up to this many per address (a login storm from one NAT or proxy waits rather than
    /// fails); beyond, and beyond `maxWaitingPerUser` for one user name, 429 with Retry-After.
    public var maxWaitingPerAddress: Int = 512
    public var maxWaitingPerUser: Int = 8
    /// Login conversations from one client address that may wait for their user's answer at
    /// once (each holds a PAM thread); beyond, 429.
    public var maxOpenConversationsPerAddress: Int = 16
    /// A failed login (wrong password, unknown user, locked or expired account) is answered no
    /// sooner than this after it began, so that timing does not tell them apart (pam_unix's own
    /// delay is about 2 s).
    public var failureDelayMilliseconds: Int = 2000

    public init() {}

    public var policy: LoginThrottle.Policy {
        var policy = LoginThrottle.Policy()
        policy.baseDelay = Double(baseDelaySeconds)
        policy.maxDelay = Double(maxDelaySeconds)
        policy.lockoutFailures = lockoutFailures
        policy.addressLockoutFailures = addressLockoutFailures
        policy.lockout = Double(lockoutSeconds)
        policy.window = Double(lockoutSeconds)
        policy.reportInterval = 60
        return policy
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case baseDelaySeconds, maxDelaySeconds, lockoutFailures, addressLockoutFailures, lockoutSeconds
        case maxConcurrentPerAddress, maxWaitingPerAddress, maxWaitingPerUser, failureDelayMilliseconds, maxOpenConversationsPerAddress
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "http.loginThrottle")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        baseDelaySeconds = try c.decodeBounded(.baseDelaySeconds, 0...3600) ?? baseDelaySeconds
        maxDelaySeconds = try c.decodeBounded(.maxDelaySeconds, 0...86400) ?? maxDelaySeconds
        lockoutFailures = try c.decodeBounded(.lockoutFailures, 1...10000) ?? lockoutFailures
        addressLockoutFailures = try c.decodeBounded(.addressLockoutFailures, 1...100_000) ?? addressLockoutFailures
        lockoutSeconds = try c.decodeBounded(.lockoutSeconds, 1...86400) ?? lockoutSeconds
        maxConcurrentPerAddress = try c.decodeBounded(.maxConcurrentPerAddress, 1...4096) ?? maxConcurrentPerAddress
        maxWaitingPerAddress = try c.decodeBounded(.maxWaitingPerAddress, 0...100_000) ?? maxWaitingPerAddress
        maxWaitingPerUser = try c.decodeBounded(.maxWaitingPerUser, 0...1000) ?? maxWaitingPerUser
        failureDelayMilliseconds = try c.decodeBounded(.failureDelayMilliseconds, 0...30_000) ?? failureDelayMilliseconds
        maxOpenConversationsPerAddress = try c.decodeBounded(.maxOpenConversationsPerAddress, 1...4096) ?? maxOpenConversationsPerAddress
        guard baseDelaySeconds <= maxDelaySeconds else {
            throw try c.superDecoder(forKey: .baseDelaySeconds).invalid("http.loginThrottle.baseDelaySeconds (\(baseDelaySeconds)) must not exceed maxDelaySeconds (\(maxDelaySeconds))")
        }
    }
}
