import DeskpoolCore
import Foundation
import Hummingbird

/// `/api/v1/admin/login-locks`: the user names and addresses the login throttle holds back, and
/// an admin's unlock (audited).
struct AdminLoginRoutes {
    let services: BrokerServices
    let gate: LoginGate

    func add(to admin: RouterGroup<DeskpoolRequestContext>) {
        admin.get("login-locks") { request, context -> Response in
            _ = try context.requireAdmin(request)
            let locks = await gate.locks().map {
                LoginLockView(user: $0.key.user, address: $0.key.address, failures: $0.failures, until: $0.until, locked: $0.locked)
            }
            return try jsonResponse(locks)
        }
        admin.delete("login-locks") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let user = try request.nameParameter("user")
            let address = try Self.address(request)
            guard user != nil || address != nil else {
                throw APIFailure(.badRequest, code: "invalidInput", "name a user, an address or both", field: "user")
            }
            let cleared = await gate.unlock(user: user, address: address)
            let subject = user.map { "user/\($0)" + (address.map { "@\($0)" } ?? "") } ?? "address/\(address ?? "")"
            try await services.broker.audit(AuditEntry(at: services.now(), actor: "admin:\(login.user)", action: "auth.unlock",
                                                      subject: subject, detail: "\(cleared) record\(cleared == 1 ? "" : "s") cleared"))
            context.logger.notice("login unlock", metadata: ["admin": "\(login.user)", "subject": "\(subject)", "cleared": "\(cleared)"])
            return try jsonResponse(LoginUnlockResult(cleared: cleared))
        }
    }

    /// The `address` query parameter: an IP address, or `unknown`.
    static func address(_ request: Request) throws -> String? {
        guard let value = request.uri.queryParameters["address"].map(String.init) else { return nil }
        guard value == LoginThrottle.unknownAddress || IPNetwork.Address(value) != nil else {
            throw APIFailure(.badRequest, code: "invalidInput", "must be an IP address", field: "address")
        }
        return value
    }
}
