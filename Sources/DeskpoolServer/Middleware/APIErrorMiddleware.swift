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
        } catch {
            throw Self.failure(error, path: request.uri.path, logger: context.logger)
        }
    }

    /// Whatever a handler threw, as a client may see it (the API's JSON and the portal's
    /// error pages both use this). Failures of libvirt, the store or PAM are logged with
    /// their detail and answered with the broker's own words only.
    static func failure(_ error: any Error, path: String, logger: Logger) -> APIFailure {
        switch error {
        case let failure as APIFailure:
            return failure
        case let error as DeskpoolError:
            guard let generic = APIFailure.genericMessages[error.code] else { return APIFailure(error) }
            logger.error("request failed", metadata: ["path": "\(path)", "code": "\(error.code)", "error": "\(error)"])
            var failure = APIFailure(APIFailure.status(of: error.code), code: error.code.name, generic)
            if let seconds = error.retryAfterSeconds { failure.headers[.retryAfter] = String(seconds) }
            return failure
        case let error as HTTPError:
            return translate(error)
        case let error as any HTTPResponseError:
            // Hummingbird's own errors (413 from a body limit among them), in our shape.
            return APIFailure(error.status, code: code(error.status), error.status.reasonPhrase)
        default:
            logger.error("request failed", metadata: ["path": "\(path)", "error": "\(String(reflecting: error))"])
            return APIFailure(.internalServerError, code: "internal", "the broker failed to answer; its log says why")
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
