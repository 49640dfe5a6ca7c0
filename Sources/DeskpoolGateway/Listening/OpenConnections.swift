import NIOCore
import Synchronization

/// The client connections the gateway has accepted and not yet closed, so that shutdown can
/// close them (closing a client connection closes its tunnel's display side too).
final class OpenConnections: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closing = false
    }

    private let state = Mutex(State())

    /// Adds a new connection; false once shutdown started (the caller closes it).
    func insert(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let accepted = state.withLock { state in
            guard !state.closing else { return false }
            state.channels[id] = channel
            return true
        }
        if accepted {
            channel.closeFuture.whenComplete { [weak self] _ in
                _ = self?.state.withLock { $0.channels.removeValue(forKey: id) }
            }
        }
        return accepted
    }

    /// Closes every connection and refuses new ones; returns when all are closed.
    func closeAll() async {
        let channels = state.withLock { state in
            state.closing = true
            return Array(state.channels.values)
        }
        for channel in channels {
            try? await channel.close()
        }
    }

    /// Accepts connections again (for the next run).
    func reopen() {
        state.withLock { $0.closing = false }
    }
}
