internal import CLibvirt

/// Which domain an event is about.
public struct DomainIdentity: Sendable, Hashable {
    public let name: String
    public let uuid: String

    public init(name: String, uuid: String) {
        self.name = name
        self.uuid = uuid
    }

    init(_ pointer: virDomainPtr) {
        let name = virDomainGetName(pointer).map { String(cString: $0) } ?? ""
        let uuid = withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(VIR_UUID_STRING_BUFLEN)) { buffer in
            virDomainGetUUIDString(pointer, buffer.baseAddress) == 0 ? String(cString: buffer.baseAddress!) : ""
        }
        self.init(name: name, uuid: uuid)
    }
}

/// A domain was defined, started, stopped, ... (`VIR_DOMAIN_EVENT_ID_LIFECYCLE`).
public struct LifecycleEvent: Sendable, Hashable {
    public enum Kind: Int32, Sendable {
        case defined = 0, undefined, started, suspended, resumed, stopped, shutdown, pmSuspended, crashed
    }

    public let domain: DomainIdentity
    public let kind: Kind
    /// libvirt's detail for `kind`, e.g. for `.stopped`: 0 shutdown, 1 destroyed, 2 crashed,
    /// 5 failed. See `StoppedDetail`.
    public let detail: Int32

    public init(domain: DomainIdentity, kind: Kind, detail: Int32) {
        self.domain = domain
        self.kind = kind
        self.detail = detail
    }

    /// Details of a `.stopped` event.
    public enum StoppedDetail: Int32, Sendable {
        case shutdown = 0, destroyed, crashed, migrated, saved, failed, fromSnapshot
    }

    public var stoppedDetail: StoppedDetail? {
        kind == .stopped ? StoppedDetail(rawValue: detail) : nil
    }
}

/// A graphics (SPICE or VNC) client connected, finished its handshake or left
/// (`VIR_DOMAIN_EVENT_ID_GRAPHICS`). SPICE reports one event per channel.
public struct GraphicsEvent: Sendable, Hashable {
    public enum Phase: Int32, Sendable {
        /// The TCP connection was accepted.
        case connect = 0
        /// The client authenticated and the channel is up.
        case initialize = 1
        case disconnect = 2
    }

    public struct Address: Sendable, Hashable {
        public enum Family: Int32, Sendable { case ipv4 = 0, ipv6, unix }
        public let family: Family
        /// The host part: an IP address or a socket path.
        public let node: String
        /// The port or service.
        public let service: String

        /// "ip:port" ("[ip]:port" for IPv6), or the socket path.
        public var hostAndPort: String {
            switch family {
            case .ipv4: "\(node):\(service)"
            case .ipv6: "[\(node)]:\(service)"
            case .unix: node
            }
        }
    }

    public let domain: DomainIdentity
    public let phase: Phase
    public let local: Address?
    public let remote: Address?
    /// e.g. "spice", "vnc", "none".
    public let authScheme: String
    /// The client's identities (e.g. x509 distinguished name), type and name.
    public let subject: [(type: String, name: String)]

    public static func == (lhs: GraphicsEvent, rhs: GraphicsEvent) -> Bool {
        lhs.domain == rhs.domain && lhs.phase == rhs.phase && lhs.local == rhs.local
            && lhs.remote == rhs.remote && lhs.authScheme == rhs.authScheme
            && lhs.subject.map(\.type) == rhs.subject.map(\.type)
            && lhs.subject.map(\.name) == rhs.subject.map(\.name)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(domain)
        hasher.combine(phase)
        hasher.combine(remote)
    }
}

/// The guest rebooted (`VIR_DOMAIN_EVENT_ID_REBOOT`).
public struct RebootEvent: Sendable, Hashable {
    public let domain: DomainIdentity
}

/// The qemu guest agent in a domain connected or went away
/// (`VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE`).
public struct AgentLifecycleEvent: Sendable, Hashable {
    public enum State: Int32, Sendable { case connected = 1, disconnected = 2 }
    public enum Reason: Int32, Sendable { case unknown = 0, domainStarted, channel }

    public let domain: DomainIdentity
    public let state: State
    public let reason: Reason
}
