import DeskpoolCore
import DeskpoolGateway
import Foundation
import Logging
import NIOCore

/// A gateway in this process, listening on 127.0.0.1 at a free port, with the benchmark's
/// directory and a key of its own.
struct BenchGateway {
    let gateway: SpiceGateway
    let port: Int
    private let key: ConnectTokenKey
    private let serving: Task<Void, any Error>

    /// `configuration`'s address and port are replaced; its limits are kept.
    static func start(directory: BenchDirectory, group: any EventLoopGroup,
                      configuration: GatewayConfiguration = GatewayConfiguration()) async throws -> BenchGateway {
        let key = ConnectTokenKey.random()
        var configuration = configuration
        configuration.listen = "127.0.0.1"
        configuration.port = 0
        var logger = Logger(label: "deskpool.gateway.bench")
        logger.logLevel = .warning
        let gateway = SpiceGateway(configuration: configuration, key: key, directory: directory, addresses: ClientAddressBook(),
                                   logger: logger, eventLoopGroup: group)
        let serving = Task { try await gateway.run() }
        let port = try await gateway.waitUntilListening()
        return BenchGateway(gateway: gateway, port: port, key: key, serving: serving)
    }

    /// A connect token for `desktop`, valid for an hour.
    func token(desktop: String, session: String) -> String {
        ConnectToken(desktop: desktop, session: session, expires: Date().addingTimeInterval(3600)).signed(with: key)
    }

    /// Stops the gateway; it closes whatever tunnels are still open.
    func stop() async {
        serving.cancel()
        _ = try? await serving.value
    }
}
