import Foundation

extension Process {
    /// Ends the process: SIGTERM, then SIGKILL if it is still running after `grace`
    /// (remote-viewer can ignore SIGTERM while it holds a connection). Polls instead of
    /// `waitUntilExit()`, which spins a run loop at full CPU on Linux and never returns for a
    /// process that does not exit.
    func stop(grace: TimeInterval = 3) {
        guard isRunning else { return }
        terminate()
        let deadline = Date().addingTimeInterval(grace)
        while isRunning, Date() < deadline { usleep(20_000) }
        if isRunning { kill(processIdentifier, SIGKILL) }
        while isRunning { usleep(20_000) }
    }
}
