public import DeskpoolCore
public import Hummingbird
import HTTPTypes

/// An error answer of the API: a status and `{"error": {"code", "message", "field"?}}`.
/// Every `DeskpoolError` becomes one with the status its code means; messages never carry
/// library text (the broker's errors are written to be shown).
public struct APIFailure: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var body: APIErrorBody
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, field: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.body = APIErrorBody(code: code, message: message, field: field)
        self.headers = headers
    }

    public init(_ error: DeskpoolError) {
        self.init(Self.status(of: error.code), code: error.code.name, error.message, field: error.field)
        if let seconds = error.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
    }

    static func status(of code: DeskpoolError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidInput: .badRequest
        case .unauthenticated, .challengeExpired: .unauthorized
        case .accountUnusable, .notEntitled, .factorRequired: .forbidden
        case .notFound: .notFound
        case .alreadyExists, .conflict, .versionInUse: .conflict
        case .throttled: .tooManyRequests
        case .tooLarge: .contentTooLarge
        case .hypervisorFailed: .badGateway
        default: .serviceUnavailable  // unavailable, storeFailed, hypervisorUnavailable
        }
    }

    /// What a client is told when a service below the broker failed (the detail, which may
    /// be libvirt's or SQLite's own text, goes to the log).
    static let genericMessages: [DeskpoolError.Code: String] = [
        .hypervisorFailed: "the hypervisor host failed this operation; the broker's log has the detail",
        .storeFailed: "the broker's store failed; the broker's log has the detail",
    ]

    static func unauthenticated() -> APIFailure {
        APIFailure(.unauthorized, code: "unauthenticated", "log in first (POST /api/v1/auth/login)")
    }

    static func forbidden(_ message: String) -> APIFailure { APIFailure(.forbidden, code: "forbidden", message) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        let data = (try? APIJSON.encoder().encode(body)) ?? Data("{\"error\":{\"code\":\"internal\",\"message\":\"error\"}}".utf8)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

import Foundation
