public import DeskpoolCore
import Foundation

/// The behaviour every `Store` must have, as checks to run against each implementation (the
/// way swift-configuration's `ProviderCompatTest` checks every provider).
///
/// Each check takes a fresh, empty store and throws `StoreConformanceFailure` naming the
/// broken expectation. Call them one per `@Test`, or all at once with `runAll`.
public enum StoreConformance {
    /// A check against one fresh store.
    public typealias Check = @Sendable (any Store) async throws -> Void

    /// Every check that needs one fresh store, by name. `survivesReopening` needs a store it can
    /// reopen and is not listed.
    public static let checks: [(name: String, run: Check)] = [
        ("templates", templates),
        ("versionNumbering", versionNumbering),
        ("deleteVersionInUse", deleteVersionInUse),
        ("poolGeneration", poolGeneration),
        ("poolRejectsInvalidSpec", poolRejectsInvalidSpec),
        ("insertDesktopWithLimit", insertDesktopWithLimit),
        ("duplicateDesktopName", duplicateDesktopName),
        ("desktopsOfAUser", desktopsOfAUser),
        ("transitionCompareAndSet", transitionCompareAndSet),
        ("deleteDesktop", deleteDesktop),
        ("claimReadyOldestFirst", claimReadyOldestFirst),
        ("claimReadyConcurrent", claimReadyConcurrent),
        ("claimReadyOnHosts", claimReadyOnHosts),
        ("auditLog", auditLog),
        ("auditQuery", auditQuery),
        ("poolDrain", poolDrain),
        ("rollouts", rollouts),
        ("rolloutCompareAndSet", rolloutCompareAndSet),
        ("rolloutWithPools", rolloutWithPools),
        ("rolloutItemBatch", rolloutItemBatch),
        ("desktopTargetVersion", desktopTargetVersion),
        ("probeWrite", probeWrite),
        ("logins", logins),
        ("secrets", secrets),
        ("loginFailures", loginFailures),
        ("challenges", challenges),
        ("usage", usage),
        ("capacitySamples", capacitySamples),
        ("usageTicket", usageTicket),
        ("leases", leases),
    ]

    /// Runs every check, each on a store from `makeStore`; the first failure is thrown with
    /// the check's name.
    public static func runAll(_ makeStore: () async throws -> any Store) async throws {
        for (name, check) in checks {
            do {
                try await check(makeStore())
            } catch {
                throw StoreConformanceFailure("\(name): \(error)")
            }
        }
    }

    // MARK: - Fixtures

    /// A whole second, so it survives every store's date precision exactly.
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)
    static let admin = "admin:alice"

    static func template(_ name: String = "tiny") -> TemplateDefinition {
        TemplateDefinition(name: name, vcpus: 1, memoryMiB: 256, domainXML: "<domain type='kvm'><name>\(name)</name></domain>")
    }

    static func desktop(
        _ name: String, pool: String = "eng", template: String = "tiny", version: Int = 1,
        state: DesktopState = .provisioning, user: String? = nil, age: TimeInterval = 0
    ) -> Desktop {
        Desktop(id: "id-\(name)", name: name, pool: pool, host: "host1", template: template, version: version,
                state: state, user: user, createdAt: t0, updatedAt: t0.addingTimeInterval(age))
    }

    // MARK: - Expectations

    static func expect(_ condition: Bool, _ message: @autoclosure () -> String, fileID: String = #fileID, line: Int = #line) throws {
        guard condition else { throw StoreConformanceFailure(message(), fileID: fileID, line: line) }
    }

    static func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: String, fileID: String = #fileID, line: Int = #line) throws {
        guard actual == expected else {
            throw StoreConformanceFailure("\(what): expected \(expected), got \(actual)", fileID: fileID, line: line)
        }
    }

    static func require<T>(_ value: T?, _ what: String, fileID: String = #fileID, line: Int = #line) throws -> T {
        guard let value else { throw StoreConformanceFailure("\(what): expected a value, got nil", fileID: fileID, line: line) }
        return value
    }

    /// Expects `body` to throw a `DeskpoolError` with `code` (and `field`, when given).
    static func expectError<T>(
        _ code: DeskpoolError.Code, field: String? = nil, _ what: String, fileID: String = #fileID, line: Int = #line,
        _ body: () async throws -> T
    ) async throws {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        switch outcome {
        case .success(let value):
            throw StoreConformanceFailure("\(what): expected error \(code), got \(value)", fileID: fileID, line: line)
        case .failure(let error as DeskpoolError):
            try expectEqual(error.code, code, "\(what): error code (\(error))", fileID: fileID, line: line)
            if let field { try expectEqual(error.field, field, "\(what): error field", fileID: fileID, line: line) }
        case .failure(let error):
            throw StoreConformanceFailure("\(what): expected DeskpoolError \(code), got \(error)", fileID: fileID, line: line)
        }
    }

    /// Expects the newest audit entry of `subject` to be `action` by `actor` (and `detail`).
    static func expectAudit(
        _ store: any Store, subject: String, action: String, actor: String = admin, detail: String? = nil,
        fileID: String = #fileID, line: Int = #line
    ) async throws {
        let entry = try require(try await store.auditLog(subject: subject, limit: 1).first, "audit of \(subject)", fileID: fileID, line: line)
        try expectEqual(entry.action, action, "newest audit action of \(subject)", fileID: fileID, line: line)
        try expectEqual(entry.actor, actor, "actor of \(subject)'s \(action)", fileID: fileID, line: line)
        try expectEqual(entry.result, "ok", "result of \(subject)'s \(action)", fileID: fileID, line: line)
        if let detail { try expectEqual(entry.detail, detail, "detail of \(subject)'s \(action)", fileID: fileID, line: line) }
    }
}
