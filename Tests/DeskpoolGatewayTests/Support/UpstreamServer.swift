import NIOCore
import NIOPosix
import Synchronization

/// A stand-in for a desktop's SPICE display on 127.0.0.1 (port 0): records each connection
/// the gateway makes, and what it receives on it.
final class UpstreamServer: Sendable {
    let channel: any Channel
    let port: Int
    private let peers: PeerList

    private init(channel: any Channel, port: Int, peers: PeerList) {
        self.channel = channel
        self.port = port
        self.peers = peers
    }

    /// The connections accepted so far, oldest first.
    var connections: [Peer] { peers.all }

    /// The `index`th connection, once accepted (the gateway's connect can complete before the
    /// server's accept).
    func connection(_ index: Int = 0) async throws -> Peer {
        try await eventually("display connection \(index)") { self.connections.count > index }
        return connections[index]
    }

    static func start(behavior: PeerBehavior) async throws -> UpstreamServer {
        let peers = PeerList()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let peer = Peer(channel: channel)
                peers.add(peer)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PeerHandler(peer: peer, behavior: behavior))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw TestFailure("upstream has no port") }
        return UpstreamServer(channel: channel, port: port, peers: peers)
    }

    func stop() async {
        try? await channel.close()
        for peer in connections { await peer.close() }
    }
}

final class PeerList: Sendable {
    private let peers = Mutex<[Peer]>([])

    func add(_ peer: Peer) { peers.withLock { $0.append(peer) } }
    var all: [Peer] { peers.withLock { $0 } }
}
