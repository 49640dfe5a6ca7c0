import DeskpoolCore
import Foundation
import Hummingbird

/// `/api/v1/admin/hosts` (capacity and health), `/api/v1/admin/replicas` (which replica runs
/// what) and `/api/v1/admin/audit` (paged, filtered).
struct AdminSystemRoutes {
    let services: BrokerServices

    func add(to admin: RouterGroup<DeskpoolRequestContext>) {
        admin.get("hosts") { request, context -> Response in
            _ = try context.requireAdmin(request)
            return try jsonResponse(try await services.broker.hostViews())
        }
        admin.get("replicas") { request, context -> Response in
            _ = try context.requireAdmin(request)
            return try jsonResponse(try await services.broker.replicasView())
        }
        admin.get("audit") { request, context -> Response in
            _ = try context.requireAdmin(request)
            let query = try Self.auditQuery(request)
            let entries = try await services.broker.auditLog(query)
            var next: String?
            if entries.count == query.limit, let last = entries.last?.id {
                var parts = ["before=\(last)", "limit=\(query.limit)"]
                for (key, value) in [("subject", query.subject), ("actor", query.actor), ("action", query.action)] {
                    if let value { parts.append("\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")") }
                }
                next = "/api/v1/admin/audit?" + parts.joined(separator: "&")
            }
            return try jsonResponse(AuditPage(entries: entries, next: next))
        }
    }

    static func auditQuery(_ request: Request) throws -> AuditQuery {
        let parameters = request.uri.queryParameters
        var query = AuditQuery()
        for (key, keyPath) in [("subject", \AuditQuery.subject), ("actor", \.actor), ("action", \.action)] {
            if let value = parameters[key[...]] {
                // Characters as the OpenAPI document's maxLength counts them: code points (a
                // letter with combining marks is several).
                guard value.unicodeScalars.count <= 200 else {
                    throw APIFailure(.badRequest, code: "invalidInput", "at most 200 characters", field: key)
                }
                query[keyPath: keyPath] = String(value)
            }
        }
        if let text = parameters["before"[...]] {
            guard let before = Int64(text), before > 0 else {
                throw APIFailure(.badRequest, code: "invalidInput", "must be an entry id (a positive integer)", field: "before")
            }
            query.before = before
        }
        if let text = parameters["limit"[...]] {
            guard let limit = Int(text), (1...500).contains(limit) else {
                throw APIFailure(.badRequest, code: "invalidInput", "must be between 1 and 500", field: "limit")
            }
            query.limit = limit
        }
        return query
    }
}
