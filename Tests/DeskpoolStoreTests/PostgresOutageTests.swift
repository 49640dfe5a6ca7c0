import DeskpoolCore
import DeskpoolStore
import DeskpoolTestRigs
import DeskpoolTesting
import Foundation
import Testing

/// PostgreSQL going away under a running store, through a proxy the test cuts (the shared test
/// cluster is never restarted): calls fail fast with `storeFailed` and a retry hint (the API's
/// 503 with `Retry-After`), readiness fails, and once the server answers again the same store
/// works by itself with every committed change still there.
@Suite(.serialized, .enabled(if: PostgresTestDatabase.runs, "no PostgreSQL server: DESKPOOL_TEST_POSTGRES is not set (scripts/postgres start)"))
struct PostgresOutageTests {
    static func template(_ name: String) -> TemplateDefinition {
        TemplateDefinition(name: name, vcpus: 1, memoryMiB: 256, domainXML: "<domain/>")
    }

    @Test("the database unreachable, then back: 503-class errors at once, then service without a restart, nothing committed lost")
    func unreachableThenBack() async throws {
        try await PostgresTestDatabase.with { settings in
            let proxy = try SocketProxy(to: .loopback(port: settings.port))
            defer { proxy.stop() }
            // What is committed before the cut, written straight to the server (on a machine
            // as loaded as CI's, a short timeout would be the test's own failure).
            let direct = try await PostgresStore(settings)
            defer { direct.close() }
            try await direct.putTemplate(Self.template("before"), actor: "admin:test")
            var through = settings
            through.host = "127.0.0.1"
            through.port = proxy.port
            through.operationTimeout = .seconds(5)
            let store = try await PostgresStore(through)
            defer { store.close() }
            #expect(try await store.templates().map(\.name) == ["before"])

            proxy.refuse(true)
            proxy.dropAll()
            for attempt in 0..<2 {
                let start = ContinuousClock.now
                let error = await #expect(throws: DeskpoolError.self, "call \(attempt) while unreachable") { try await store.templates() }
                #expect(error?.code == .storeFailed)
                #expect(error?.retryAfterSeconds == 5)
                #expect(ContinuousClock.now - start < .seconds(8), "a call fails within the store's timeout (5 s here), it does not hang")
            }
            await #expect(throws: DeskpoolError.self, "readiness fails") { try await store.probeWrite(at: Date()) }

            proxy.refuse(false)
            let back = ContinuousClock.now
            let deadline = back + .seconds(60)
            var templates: [TemplateDefinition]?
            while templates == nil, ContinuousClock.now < deadline {
                templates = try? await store.templates()
                if templates == nil { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(templates?.map(\.name) == ["before"], "the same store answers again, with what was committed")
            print("PostgresOutageTests: the store answered again \(ContinuousClock.now - back) after the server did")
            try await store.putTemplate(Self.template("after"), actor: "admin:test")
            try await store.probeWrite(at: Date())
            #expect(try await store.templates().map(\.name) == ["after", "before"])
        }
    }
}
