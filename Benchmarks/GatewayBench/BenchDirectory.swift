import DeskpoolCore

/// Routes by the token's desktop name, from a fixed table; a desktop not in it has no route.
struct BenchDirectory: ConsoleDirectory {
    let routes: [String: ConsoleRoute]

    func route(for token: ConnectToken) async throws(DeskpoolError) -> ConsoleRoute {
        guard let route = routes[token.desktop] else { throw DeskpoolError(.notFound, "no desktop \(token.desktop)") }
        return route
    }

    /// One desktop, "bench", whose SPICE and browser displays are both the stand-in display.
    static func stub(displayPort: Int) -> BenchDirectory {
        BenchDirectory(routes: ["bench": route("bench", address: "127.0.0.1", spicePort: displayPort, browserPort: displayPort)])
    }

    static func route(_ desktop: String, address: String, spicePort: Int?, browserPort: Int?) -> ConsoleRoute {
        ConsoleRoute(desktop: desktop, pool: "bench", address: address, ports: Set([spicePort].compactMap { $0 }), forbiddenChannels: [],
                     browserPort: browserPort)
    }
}
