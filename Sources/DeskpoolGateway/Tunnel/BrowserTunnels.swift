import DeskpoolCore
import NIOCore
import Synchronization

/// The browser consoles the gateway carries now, with their tokens. A VNC display keeps its
/// clients when its password changes, so at logoff (or when the session moves) nothing on
/// the hypervisor drops a browser console: the gateway asks the broker every few seconds
/// which of these sessions are over and closes their tunnels.
final class BrowserTunnels: Sendable {
    private let entries = Mutex<[ObjectIdentifier: (token: ConnectToken, channel: any Channel)]>([:])

    func insert(_ channel: any Channel, token: ConnectToken) {
        let id = ObjectIdentifier(channel)
        entries.withLock { $0[id] = (token, channel) }
        channel.closeFuture.whenComplete { [weak self] _ in _ = self?.entries.withLock { $0.removeValue(forKey: id) } }
    }

    var tokens: [ConnectToken] { entries.withLock { Array(Set($0.values.map(\.token))) } }
    var count: Int { entries.withLock { $0.count } }

    /// Closes the tunnels of `tokens`; returns how many.
    @discardableResult
    func close(_ tokens: Set<ConnectToken>) -> Int {
        let channels = entries.withLock { entries in entries.values.filter { tokens.contains($0.token) }.map(\.channel) }
        for channel in channels { channel.close(promise: nil) }
        return channels.count
    }
}
