public import DeskpoolCore
public import Hummingbird
import HTTPTypes

/// Finds the request's login session: a bearer token (`Authorization: Bearer T`, for the CLI,
/// scripts and thin clients) or the portal's cookie. Handlers decide what needs a session;
/// this only looks it up, and notes whether a cookie-authenticated change carried the CSRF
/// token in its header.
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = DeskpoolRequestContext
    public static let cookieName = "deskpool_session"
    let logins: LoginSessions

    public init(logins: LoginSessions) { self.logins = logins }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let authorization = request.headers[.authorization], authorization.lowercased().hasPrefix("bearer ") {
            let token = String(authorization.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
            context.token = token
            context.login = try await logins.lookup(token: token)
        } else if let token = request.cookies[Self.cookieName]?.value, !token.isEmpty {
            context.token = token
            context.viaCookie = true
            context.login = try await logins.lookup(token: token)
            if let login = context.login, let header = request.headers[.init("X-CSRF-Token")!] {
                context.csrfHeaderValid = Self.constantTimeEqual(header, login.csrf)
            }
        }
        if let login = context.login {
            context.logger[metadataKey: "user"] = .string(login.user)
        }
        return try await next(request, context)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}

import Foundation
