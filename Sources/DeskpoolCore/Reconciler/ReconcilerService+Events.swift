extension ReconcilerService {
    /// Lifecycle events trigger a pass, which notices stopped and broken desktops. Console
    /// events belong to the session service.
    func handle(_ event: HypervisorEvent) async {
        switch event.kind {
        case .stopped, .broken:
            poke()
        case .started, .agentConnected, .console:
            break
        }
    }
}
