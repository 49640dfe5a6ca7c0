public import DeskpoolCore
import Foundation
import Libvirt

extension LibvirtHypervisor {
    public func observe() async throws(DeskpoolError) -> [ObservedDomain] {
        let operation = "listing domains"
        let listings = try await libvirt(operation) { () async throws(LibvirtError) in try await connection.listDomains() }
        var observed: [ObservedDomain] = []
        observed.reserveCapacity(listings.count)
        defer { metadataCache.keep(only: Set(listings.map(\.domain.uuid))) }
        for listing in listings {
            do throws(DeskpoolError) {
                let metadata = try await metadata(of: listing.domain, operation)
                observed.append(ObservedDomain(name: listing.domain.name, identity: metadata?.identity,
                                               instance: metadata?.instance, run: listing.state.runState))
            } catch {
                // A domain undefined between listing and asking is simply gone.
                if (try? await domain(named: listing.domain.name, operation)) == nil { continue }
                throw error
            }
        }
        return observed
    }

    /// Lifecycle, console and guest agent events of Deskpool's domains (those with Deskpool
    /// metadata; events of domains already gone are passed on, since their owner cannot be
    /// asked any more), across reconnects: each time the link connects again, the streams are
    /// subscribed on the new connection and `.hostConnected` follows. Ends when the consumer
    /// stops or the link's service ends.
    ///
    /// The libvirt subscriptions are in place when this returns: no later event is lost while
    /// the host stays connected.
    public func events() async -> AsyncStream<HypervisorEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: HypervisorEvent.self, bufferingPolicy: .bufferingNewest(4096))
        let connections = link.connections()
        let first = try? link.connection()
        let firstSources = if let first { await sources(of: first) } else { Sources?.none }
        // The task lives exactly as long as the stream: ending either ends the other.
        let task = Task { [self] in
            if let firstSources { await forwardEvents(from: firstSources, to: continuation) }
            for await connection in connections where connection !== first {
                let sources = await sources(of: connection)
                continuation.yield(HypervisorEvent(host: host, domain: "", kind: .hostConnected(generation: link.status.generation)))
                await forwardEvents(from: sources, to: continuation)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// The connection's event streams; a kind the driver cannot deliver is left out, the others
    /// still flow. They end when the connection is closed.
    private func sources(of connection: Connection) async -> Sources {
        Sources(lifecycle: try? await connection.lifecycleEvents(), graphics: try? await connection.graphicsEvents(),
                agent: try? await connection.agentLifecycleEvents())
    }

    /// One libvirt event of any kind, before mapping.
    private enum RawEvent: Sendable {
        case lifecycle(LifecycleEvent)
        case graphics(GraphicsEvent)
        case agent(AgentLifecycleEvent)
    }

    private struct Sources: Sendable {
        let lifecycle: AsyncStream<LifecycleEvent>?
        let graphics: AsyncStream<GraphicsEvent>?
        let agent: AsyncStream<AgentLifecycleEvent>?
    }

    private func forwardEvents(from sources: Sources, to continuation: AsyncStream<HypervisorEvent>.Continuation) async {
        let (raw, rawContinuation) = AsyncStream.makeStream(of: RawEvent.self)
        let (lifecycle, graphics, agent) = (sources.lifecycle, sources.graphics, sources.agent)
        guard lifecycle != nil || graphics != nil || agent != nil else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { sources in
                    if let lifecycle { sources.addTask { for await event in lifecycle { rawContinuation.yield(.lifecycle(event)) } } }
                    if let graphics { sources.addTask { for await event in graphics { rawContinuation.yield(.graphics(event)) } } }
                    if let agent { sources.addTask { for await event in agent { rawContinuation.yield(.agent(event)) } } }
                }
                rawContinuation.finish()
            }
            // One loop maps and filters, so the ownership cache needs no lock.
            var deskpoolDomains: [String: Bool] = [:]
            for await event in raw {
                if case .lifecycle(let lifecycle) = event, lifecycle.kind == .undefined || lifecycle.kind == .defined {
                    // Undefined, or redefined (its metadata may have changed): ask again next time.
                    deskpoolDomains[lifecycle.domain.uuid] = nil
                    metadataCache.forget(uuid: lifecycle.domain.uuid)
                }
                guard let (domain, kind) = await map(event) else { continue }
                if deskpoolDomains[domain.uuid] == nil, let owned = await isDeskpools(domain) {
                    deskpoolDomains[domain.uuid] = owned
                }
                if deskpoolDomains[domain.uuid] ?? true {
                    continuation.yield(HypervisorEvent(host: host, domain: domain.name, kind: kind))
                }
            }
            group.cancelAll()
        }
    }

    private func map(_ event: RawEvent) async -> (DomainIdentity, HypervisorEvent.Kind)? {
        switch event {
        case .lifecycle(let event):
            switch event.kind {
            case .started: return (event.domain, .started)
            case .stopped: return (event.domain, .stopped(event.stoppedReason))
            case .crashed: return (event.domain, .broken("crashed: guest panicked"))  // pvpanic (DesktopDomainXML.setCrashHandling)
            case .suspended:
                if let reason = event.errorPause { return (event.domain, .broken(reason)) }
                // A plain pause is also how an internal error (e.g. KVM's) shows: ask the state.
                let domain = try? await connection.domain(uuid: event.domain.uuid)
                guard let state = try? await domain?.state(), let reason = state.brokenReason else { return nil }
                return (event.domain, .broken(reason))
            default: return nil
            }
        case .graphics(let event):
            let phase: ConsolePhase = switch event.phase {
            case .connect: .connect
            case .initialize: .initialize
            case .disconnect: .disconnect
            }
            return (event.domain, .console(phase, client: event.remote.map(\.hostAndPort) ?? "unknown"))
        case .agent(let event):
            return event.state == .connected ? (event.domain, .agentConnected) : nil
        }
    }

    /// Whether the domain carries Deskpool metadata; nil when that cannot be told (gone).
    private func isDeskpools(_ identity: DomainIdentity) async -> Bool? {
        guard let domain = try? await connection.domain(uuid: identity.uuid) else { return nil }
        do throws(DeskpoolError) {
            return try await metadata(of: domain, "reading metadata") != nil
        } catch {
            return nil
        }
    }
}
