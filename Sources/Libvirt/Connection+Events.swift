internal import CLibvirt
import Foundation
import Synchronization

extension Connection {
    /// Lifecycle events of every domain, or of `domain` only.
    ///
    /// The stream starts delivering once this call returns and ends when the caller stops
    /// iterating, or when the connection is closed. libvirt allows one registration of a
    /// callback per connection and event type, so all streams of a type share one; it is
    /// released (libvirt calls its free callback) when the last of them ends.
    public func lifecycleEvents(of domain: Domain? = nil) async throws(LibvirtError) -> AsyncStream<LifecycleEvent> {
        try await hub(VIR_DOMAIN_EVENT_ID_LIFECYCLE, unsafeBitCast(lifecycleCallback, to: virConnectDomainEventGenericCallback.self))
            .subscribe(domain: domain?.uuid, connection: self)
    }

    /// Graphics (console client) events of every domain, or of `domain` only.
    public func graphicsEvents(of domain: Domain? = nil) async throws(LibvirtError) -> AsyncStream<GraphicsEvent> {
        try await hub(VIR_DOMAIN_EVENT_ID_GRAPHICS, unsafeBitCast(graphicsCallback, to: virConnectDomainEventGenericCallback.self))
            .subscribe(domain: domain?.uuid, connection: self)
    }

    /// Guest reboot events of every domain, or of `domain` only.
    public func rebootEvents(of domain: Domain? = nil) async throws(LibvirtError) -> AsyncStream<RebootEvent> {
        try await hub(VIR_DOMAIN_EVENT_ID_REBOOT, rebootCallback)
            .subscribe(domain: domain?.uuid, connection: self)
    }

    /// Guest agent connect/disconnect events of every domain, or of `domain` only.
    public func agentLifecycleEvents(of domain: Domain? = nil) async throws(LibvirtError) -> AsyncStream<AgentLifecycleEvent> {
        try await hub(VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE, unsafeBitCast(agentLifecycleCallback, to: virConnectDomainEventGenericCallback.self))
            .subscribe(domain: domain?.uuid, connection: self)
    }

    /// This connection's hub for one event type, made on first use.
    private func hub<Event: DomainEvent>(
        _ eventID: virDomainEventID, _ callback: virConnectDomainEventGenericCallback
    ) -> EventHub<Event> {
        let id = Int32(eventID.rawValue)
        return eventHubs.withLock { hubs in
            if let hub = hubs[id] as? EventHub<Event> { return hub }
            let hub = EventHub<Event>(eventID: id, callback: callback)
            hubs[id] = hub
            return hub
        }
    }
}

/// An event about one domain.
protocol DomainEvent: Sendable {
    var domain: DomainIdentity { get }
}

extension LifecycleEvent: DomainEvent {}
extension GraphicsEvent: DomainEvent {}
extension RebootEvent: DomainEvent {}
extension AgentLifecycleEvent: DomainEvent {}

/// What a connection needs to end its hubs when it closes.
protocol ClosableEventHub: AnyObject, Sendable {
    /// Ends every stream (at once, when the connection is closed).
    func finishStreams()
    /// Deregisters from libvirt (on a libvirt thread, once no call is in flight).
    func deregisterForClose(_ pointer: virConnectPtr)
}

// MARK: - Hub

/// One libvirt callback registration for one event type on one connection, fanned out to
/// any number of streams. libvirt holds a reference to the hub while registered and drops it
/// through `releaseEventHub` when the registration is gone.
final class EventHub<Event: DomainEvent>: ClosableEventHub, @unchecked Sendable {
    // @unchecked: `callbackID` is guarded by `registrationLock`, which is only taken on
    // libvirt threads (it is held across the blocking register/deregister calls, which
    // serializes them); subscribers are guarded by their Mutex.
    private let eventID: Int32
    private let callback: virConnectDomainEventGenericCallback
    private let registrationLock = NSLock()
    private var callbackID: Int32?
    private let subscribers = Mutex<[UUID: Subscriber]>([:])

    private struct Subscriber {
        let domainUUID: String?
        let continuation: AsyncStream<Event>.Continuation
    }

    init(eventID: Int32, callback: virConnectDomainEventGenericCallback) {
        self.eventID = eventID
        self.callback = callback
    }

    func subscribe(domain uuid: String?, connection: Connection) async throws(LibvirtError) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(4096))
        let key = UUID()
        subscribers.withLock { $0[key] = Subscriber(domainUUID: uuid, continuation: continuation) }
        do throws(LibvirtError) {
            try await connection.run { [self] pointer throws(LibvirtError) in try registerIfNeeded(pointer) }
        } catch {
            subscribers.withLock { _ = $0.removeValue(forKey: key) }
            throw error
        }
        continuation.onTermination = { [weak self, weak connection] _ in
            guard let self, let connection else { return }
            subscribers.withLock { _ = $0.removeValue(forKey: key) }
            connection.detached { [self] pointer in deregisterIfUnused(pointer) }
        }
        return stream
    }

    /// Hands an event to the streams that want it (on the libvirt event thread).
    func deliver(_ event: Event) {
        subscribers.withLock { subscribers in
            for subscriber in subscribers.values where subscriber.domainUUID == nil || subscriber.domainUUID == event.domain.uuid {
                subscriber.continuation.yield(event)
            }
        }
    }

    private func registerIfNeeded(_ pointer: virConnectPtr) throws(LibvirtError) {
        registrationLock.lock()
        defer { registrationLock.unlock() }
        guard callbackID == nil else { return }
        let opaque = Unmanaged.passRetained(self).toOpaque()
        let id = virConnectDomainEventRegisterAny(pointer, nil, eventID, callback, opaque, releaseEventHub)
        guard id >= 0 else {
            let error = LibvirtError.last()
            Unmanaged<EventHub<Event>>.fromOpaque(opaque).release()
            throw error
        }
        callbackID = id
    }

    private func deregisterIfUnused(_ pointer: virConnectPtr) {
        registrationLock.withLock {
            guard let id = callbackID, subscribers.withLock({ $0.isEmpty }) else { return }
            virConnectDomainEventDeregisterAny(pointer, id)
            callbackID = nil
        }
    }

    func deregisterForClose(_ pointer: virConnectPtr) {
        registrationLock.withLock {
            if let id = callbackID { virConnectDomainEventDeregisterAny(pointer, id) }
            callbackID = nil
        }
    }

    func finishStreams() {
        let all = subscribers.withLock { subscribers in
            defer { subscribers.removeAll() }
            return subscribers.values.map(\.continuation)
        }
        all.forEach { $0.finish() }
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> EventHub<Event>? {
        opaque.map { Unmanaged<EventHub<Event>>.fromOpaque($0).takeUnretainedValue() }
    }
}

// MARK: - C callbacks (they only hand the event to the stream)

private func releaseEventHub(_ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    Unmanaged<AnyObject>.fromOpaque(opaque).release()
}

private let lifecycleCallback: virConnectDomainEventCallback = { _, domain, event, detail, opaque in
    guard let domain, let hub = EventHub<LifecycleEvent>.from(opaque),
          let kind = LifecycleEvent.Kind(rawValue: event) else { return 0 }
    hub.deliver(LifecycleEvent(domain: DomainIdentity(domain), kind: kind, detail: detail))
    return 0
}

private let graphicsCallback: virConnectDomainEventGraphicsCallback = { _, domain, phase, local, remote, scheme, subject, opaque in
    guard let domain, let hub = EventHub<GraphicsEvent>.from(opaque),
          let phase = GraphicsEvent.Phase(rawValue: phase) else { return }
    var identities: [(type: String, name: String)] = []
    if let subject {
        for index in 0..<Int(subject.pointee.nidentity) {
            let identity = subject.pointee.identities[index]
            identities.append((
                type: identity.type.map { String(cString: $0) } ?? "",
                name: identity.name.map { String(cString: $0) } ?? ""))
        }
    }
    hub.deliver(GraphicsEvent(
        domain: DomainIdentity(domain),
        phase: phase,
        local: GraphicsEvent.Address(local),
        remote: GraphicsEvent.Address(remote),
        authScheme: scheme.map { String(cString: $0) } ?? "",
        subject: identities))
}

private let rebootCallback: virConnectDomainEventGenericCallback = { _, domain, opaque in
    guard let domain, let hub = EventHub<RebootEvent>.from(opaque) else { return }
    hub.deliver(RebootEvent(domain: DomainIdentity(domain)))
}

private let agentLifecycleCallback: virConnectDomainEventAgentLifecycleCallback = { _, domain, state, reason, opaque in
    guard let domain, let hub = EventHub<AgentLifecycleEvent>.from(opaque),
          let state = AgentLifecycleEvent.State(rawValue: state) else { return }
    hub.deliver(AgentLifecycleEvent(
        domain: DomainIdentity(domain), state: state, reason: AgentLifecycleEvent.Reason(rawValue: reason) ?? .unknown))
}

extension GraphicsEvent.Address {
    init?(_ pointer: UnsafePointer<virDomainEventGraphicsAddress>?) {
        guard let address = pointer?.pointee else { return nil }
        self.init(
            family: Family(rawValue: address.family) ?? .ipv4,
            node: address.node.map { String(cString: $0) } ?? "",
            service: address.service.map { String(cString: $0) } ?? "")
    }
}
