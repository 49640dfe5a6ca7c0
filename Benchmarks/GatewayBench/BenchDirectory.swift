import DeskpoolCore

/// Every token goes to the bench display.
struct BenchDirectory: ConsoleDirectory {
    let displayPort: Int

    func route(for token: ConnectToken) async throws(DeskpoolError) -> ConsoleRoute {
        ConsoleRoute(desktop: "bench", pool: "bench", address: "127.0.0.1", ports: [displayPort], forbiddenChannels: [])
    }
}
