import DeskpoolCore
public import Hummingbird
import Logging

/// Turns whatever a handler throws into an API error answer: a broker error into its status,
/// Hummingbird's own (no such route, body too large) into the same JSON shape, anything else
/// into a 500 whose detail goes to the log only.
public struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let failure as APIFailure {
            throw failure
        } catch let error as DeskpoolError {
            if error.code == .hypervisorFailed || error.code == .storeFailed || error.code == .unavailable {
                context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            }
            throw APIFailure(error)
        } catch let error as HTTPError {
            throw Self.translate(error)
        } catch let error as any HTTPResponseError {
            // Hummingbird's own errors (413 from a body limit among them), in our shape.
            throw APIFailure(error.status, code: Self.code(error.status), error.status.reasonPhrase)
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            throw APIFailure(.internalServerError, code: "internal", "the broker failed to answer; its log says why")
        }
    }

    static func translate(_ error: HTTPError) -> APIFailure {
        let message = error.body ?? (error.status == .notFound ? "no such resource" : error.status.reasonPhrase)
        return APIFailure(error.status, code: code(error.status), message, headers: error.headers)
    }

    static func code(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "invalidInput"
        case 401: "unauthenticated"
        case 403: "forbidden"
        case 404: "notFound"
        case 405: "methodNotAllowed"
        case 409: "conflict"
        case 413: "tooLarge"
        case 415: "unsupportedMediaType"
        case 429: "throttled"
        default: status.code >= 500 ? "internal" : "invalidInput"
        }
    }
}
