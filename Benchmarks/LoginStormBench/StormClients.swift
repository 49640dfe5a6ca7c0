import BenchSupport
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import Synchronization

/// The storm: each user logs in (`POST /api/v1/auth/login`) and asks for a desktop
/// (`POST /api/v1/pools/POOL/desktop` with the bearer token), at most `concurrency` users at a
/// time, over AsyncHTTPClient with a connection per user in flight. With several brokers
/// (`ports`), user i goes to the (i mod n)th, as a client list of addresses spreads them. A
/// user counts when the `.vv` arrives (200, `application/x-virt-viewer`); anything else is a
/// failure.
struct StormClients {
    let users: [StormUser]
    let concurrency: Int
    let ports: [Int]
    let pool: String

    struct Phases: Sendable {
        var login: [Double] = []
        var desktop: [Double] = []
        var answers: [String: Int] = [:]
    }

    /// The phases of the users done so far (shared by the clients' tasks).
    final class PhaseLog: Sendable {
        private let phases = Mutex(Phases())
        func withLock<R>(_ body: (inout Phases) -> R) -> R { phases.withLock { body(&$0) } }
    }

    private struct LoginBody: Encodable { let user: String; let password: String }
    private struct LoginAnswer: Decodable { let token: String }

    func run(_ label: String) async throws -> (RunFigures, Phases) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, concurrency))
        configuration.timeout = .init(connect: .seconds(30), read: .seconds(120))
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let phases = PhaseLog()
        let bases = ports.map { "http://127.0.0.1:\($0)" }
        let users = self.users
        let pool = self.pool

        // Warm-up without PAM: connections and the router.
        for base in bases {
            for _ in 0..<4 {
                _ = try await client.execute(HTTPClientRequest(url: "\(base)/healthz"), timeout: .seconds(10)).body.collect(upTo: 1 << 16)
            }
        }

        let figures = await RunFigures.measure(label, count: users.count, concurrency: concurrency) { i in
            let user = users[i]
            let base = bases[i % bases.count]
            func note(_ answer: String) { phases.withLock { $0.answers[answer, default: 0] += 1 } }
            do {
                let start = ContinuousClock.now
                var login = HTTPClientRequest(url: "\(base)/api/v1/auth/login")
                login.method = .POST
                login.headers.add(name: "Content-Type", value: "application/json")
                login.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(LoginBody(user: user.name, password: user.password))))
                let loginResponse = try await client.execute(login, timeout: .seconds(120))
                let loginBody = try await loginResponse.body.collect(upTo: 1 << 20)
                guard loginResponse.status == .ok else {
                    note("login \(loginResponse.status.code)")
                    return "\(user.name): login \(loginResponse.status.code) \(String(buffer: loginBody))"
                }
                let token = try JSONDecoder().decode(LoginAnswer.self, from: loginBody).token
                let loggedIn = ContinuousClock.now

                var desktop = HTTPClientRequest(url: "\(base)/api/v1/pools/\(pool)/desktop")
                desktop.method = .POST
                desktop.headers.add(name: "Authorization", value: "Bearer \(token)")
                let desktopResponse = try await client.execute(desktop, timeout: .seconds(120))
                let file = try await desktopResponse.body.collect(upTo: 1 << 20)
                let done = ContinuousClock.now
                let text = String(buffer: file)
                guard desktopResponse.status == .ok, desktopResponse.headers.first(name: "Content-Type")?.hasPrefix("application/x-virt-viewer") == true,
                      text.hasPrefix("[virt-viewer]") else {
                    note("desktop \(desktopResponse.status.code)")
                    return "\(user.name): desktop \(desktopResponse.status.code) \(text.prefix(300))"
                }
                note("200 .vv")
                phases.withLock {
                    $0.login.append((loggedIn - start).seconds)
                    $0.desktop.append((done - loggedIn).seconds)
                }
                return nil
            } catch {
                note("error")
                return "\(user.name): \(error)"
            }
        }
        try await client.shutdown()
        return (figures, phases.withLock { $0 })
    }
}
