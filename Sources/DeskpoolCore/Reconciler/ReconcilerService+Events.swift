extension ReconcilerService {
    /// Lifecycle events trigger a pass, which notices stopped and broken desktops; so does a
    /// host connected again (its recovery pass). Console events belong to the session service.
    func handle(_ event: HypervisorEvent) async {
        switch event.kind {
        case .stopped, .broken, .hostConnected:
            poke()
        case .started, .agentConnected, .console:
            break
        }
    }
}
