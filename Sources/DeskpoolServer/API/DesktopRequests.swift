import DeskpoolCore
import Foundation
import Hummingbird
import HTTPTypes
import NIOConcurrencyHelpers

/// A user's desktop request, shared by the API and the portal: `Broker.requestDesktop`
/// translated (a `.vv`, "preparing" or a 409), and measured: the time to desktop from the
/// first request, across "preparing" polls.
struct DesktopRequests: Sendable {
    enum Answer: Sendable {
        case file(ConsoleBroker.Grant)
        case browser(ConsoleBroker.BrowserGrant)
        case preparing(PreparingAnswer)
    }

    let services: BrokerServices
    let metrics: ServerMetrics
    /// When each desktop still being prepared was first asked for.
    private let firstAsked = NIOLockedValueBox<[String: ContinuousClock.Instant]>([:])

    init(services: BrokerServices, metrics: ServerMetrics) {
        self.services = services
        self.metrics = metrics
    }

    func request(pool: String, for principal: SessionBroker.Principal, another: Bool, clientAddress: String?,
                 console: ConsoleKind = .spice) async throws -> Answer {
        let start = ContinuousClock.now
        let answer: Broker.DesktopAnswer
        do {
            answer = try await services.broker.requestDesktop(principal, pool: pool, another: another, clientAddress: clientAddress,
                                                              console: console)
        } catch {
            metrics.desktopRequests["refused"]?.increment()
            throw error
        }
        switch answer {
        case .console(let grant):
            assigned(grant.desktop, asked: start)
            return .file(grant)
        case .browser(let grant):
            assigned(grant.desktop, asked: start)
            return .browser(grant)
        case .preparing(let desktop, let estimate):
            firstAsked.withLockedValue { asked in
                if asked.count > 10_000 { asked.removeAll() }  // bounded: abandoned requests are forgotten
                if asked[desktop.id] == nil { asked[desktop.id] = start }
            }
            metrics.desktopRequests["preparing"]?.increment()
            return .preparing(PreparingAnswer(desktop: DesktopView(desktop), estimateSeconds: estimate,
                                              poll: "/api/v1/pools/\(pool)/desktop" + (console == .browser ? "?console=browser" : "")))
        case .exhausted:
            metrics.desktopRequests["exhausted"]?.increment()
            throw APIFailure(.conflict, code: "exhausted", "pool \(pool) has no free desktop and is at its maximum size; try again later",
                             field: "pool")
        }
    }

    /// Records a console handed out: the time to desktop from the first request for it.
    private func assigned(_ desktop: Desktop, asked start: ContinuousClock.Instant) {
        let first = firstAsked.withLockedValue { $0.removeValue(forKey: desktop.id) } ?? start
        let elapsed = ContinuousClock.now - first
        metrics.timeToDesktop.record(elapsed)
        metrics.timeToDesktop(pool: desktop.pool).record(elapsed)
        metrics.desktopRequests["assigned"]?.increment()
    }

    /// The browser console's parameters as JSON, for the API.
    static func browserResponse(_ grant: ConsoleBroker.BrowserGrant) throws -> Response {
        var response = try jsonResponse(BrowserConsoleView(grant))
        response.headers[.init("Deskpool-Desktop")!] = grant.desktop.id
        return response
    }

    /// Seconds a client should wait before asking again: the estimate, polled at least every 5 s.
    static func retryAfter(estimate: Int) -> Int { max(1, min(estimate, 5)) }

    /// The `.vv` file as a download, for the API and the portal alike.
    static func fileResponse(_ grant: ConsoleBroker.Grant) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = VirtViewerFile.mediaType
        headers[.contentDisposition] = "attachment; filename=\"\(VirtViewerFile.fileName(desktop: grant.desktop.name))\""
        headers[.init("Deskpool-Desktop")!] = grant.desktop.id
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: grant.file.text)))
    }
}
