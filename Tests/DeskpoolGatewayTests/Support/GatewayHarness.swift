import DeskpoolCore
import DeskpoolGateway
import DeskpoolTesting
import Foundation
import NIOSSL
import Synchronization

/// A real gateway on 127.0.0.1 (port 0) in front of an `UpstreamServer`, with a stub
/// directory whose route points at it, a settable clock and a log recorder.
struct GatewayHarness: Sendable {
    let gateway: SpiceGateway
    let port: Int
    let key: ConnectTokenKey
    let upstream: UpstreamServer
    let addresses: ClientAddressBook
    let logs: LogRecorder
    let clock: TestClock
    let directory: StubDirectory

    struct Options: Sendable {
        var configuration = GatewayConfiguration()
        var upstream = PeerBehavior.echo
        var forbiddenChannels: Set<SpiceChannel> = []
        /// What the directory throws instead of answering.
        var directoryError: DeskpoolError?
        /// Display ports besides the upstream server's (never listened on).
        var extraPorts: Set<Int> = []
        /// The upstream server is also the desktop's browser display (nil: it has none).
        var browserDisplay = true
        var tls: NIOSSLContext?
    }

    /// Runs `body` against a fresh gateway, then cancels the gateway's `run()` and waits for it
    /// to return (closing its tunnels) and stops the upstream server.
    @discardableResult
    static func run<T: Sendable>(_ options: Options = Options(), _ body: @Sendable (GatewayHarness) async throws -> T) async throws -> T {
        let upstream = try await UpstreamServer.start(behavior: options.upstream)
        let route = ConsoleRoute(desktop: "desk-01", pool: "eng", address: "127.0.0.1",
                                 ports: options.extraPorts.union([upstream.port]), forbiddenChannels: options.forbiddenChannels,
                                 browserPort: options.browserDisplay ? upstream.port : nil)
        let directory = StubDirectory(answer: options.directoryError.map { .failure($0) } ?? .success(route))
        var configuration = options.configuration
        configuration.listen = "127.0.0.1"
        configuration.port = 0
        let key = ConnectTokenKey.random()
        let clock = TestClock()
        let logs = LogRecorder()
        let addresses = ClientAddressBook()
        let gateway = SpiceGateway(configuration: configuration, key: key, directory: directory, addresses: addresses,
                                   logger: logs.logger(), now: { clock.now }, sweepInterval: .milliseconds(100), tls: options.tls)
        do {
            let result = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await gateway.run() }
                let port = try await withTimeout(.seconds(10), "the gateway to listen") { try await gateway.waitUntilListening() }
                let result = try await body(GatewayHarness(gateway: gateway, port: port, key: key, upstream: upstream,
                                                           addresses: addresses, logs: logs, clock: clock, directory: directory))
                group.cancelAll()
                try await group.waitForAll()
                return result
            }
            await upstream.stop()
            return result
        } catch {
            await upstream.stop()
            throw error
        }
    }

    /// A token for `session` on the stub's desktop, valid for five minutes of the test clock.
    func token(session: String = "session-1", signedWith other: ConnectTokenKey? = nil, validFor seconds: TimeInterval = 300) -> String {
        ConnectToken(desktop: "3f2b8c1e-0d4a-4b7e-9c55-2a1f6e8d9b00", session: session, expires: clock.now.addingTimeInterval(seconds))
            .signed(with: other ?? key)
    }

    /// Connects a client and sends `CONNECT target HTTP/1.0` as spice-gtk does; returns the
    /// client and the response status.
    func connect(_ target: String) async throws -> (Peer, Int) {
        let client = try await Peer.connect(port: port)
        try await client.send("CONNECT \(target) HTTP/1.0\r\nHost: \(target)\r\nProxy-Connection: keep-alive\r\nUser-Agent: test\r\n\r\n")
        return (client, try await client.responseStatus())
    }

    /// A CONNECT with a valid token to the upstream display's port.
    func tunnel(session: String = "session-1") async throws -> (Peer, Int) {
        try await connect("\(token(session: session)):\(upstream.port)")
    }

    func refusals(_ refusal: TunnelRefusal) -> Int {
        gateway.statistics().refusals[refusal] ?? 0
    }
}

final class StubDirectory: ConsoleDirectory {
    let answer: Result<ConsoleRoute, DeskpoolError>
    /// Sessions the test ended (their tokens get no route, and their browser consoles close).
    private let ended = Mutex<Set<String>>([])

    init(answer: Result<ConsoleRoute, DeskpoolError>) { self.answer = answer }

    func end(session: String) { ended.withLock { _ = $0.insert(session) } }

    func route(for token: ConnectToken) async throws(DeskpoolError) -> ConsoleRoute {
        if ended.withLock({ $0.contains(token.session) }) { throw DeskpoolError(.conflict, "the session of this token has ended") }
        return try answer.get()
    }
}

/// The gateway's clock, moved by tests (token expiry).
final class TestClock: Sendable {
    private let date = Mutex(Date(timeIntervalSince1970: 1_800_000_000))

    var now: Date { date.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        date.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}
