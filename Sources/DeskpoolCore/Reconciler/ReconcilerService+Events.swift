extension ReconcilerService {
    /// Console connects and disconnects move a session between connected and disconnected;
    /// lifecycle events trigger a pass (which notices stopped and broken desktops).
    func handle(_ event: HypervisorEvent) async {
        switch event.kind {
        case .consoleConnected:
            await move(event, from: [.assigned, .disconnected], to: .connected)
        case .consoleDisconnected:
            await move(event, from: [.connected], to: .disconnected)
        case .started, .agentConnected:
            break
        case .stopped, .broken:
            poke()
        }
    }

    private func move(_ event: HypervisorEvent, from: Set<DesktopState>, to state: DesktopState) async {
        do {
            guard let desktop = try await store.desktops(pool: nil).first(where: { $0.name == event.domain && $0.host == event.host }) else { return }
            _ = try await store.transition(desktop.id, from: from, actor: Self.actor, change: { $0.state = state })
        } catch {
            logger.error("cannot record a console event", metadata: ["desktop": "\(event.domain)", "error": "\(error)"])
        }
    }
}
