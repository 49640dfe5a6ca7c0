import DeskpoolCore
import Foundation
import Hummingbird
import HTTPTypes

extension Request {
    /// The body decoded as JSON, or a 400 that names the field at fault (never the decoder's
    /// own text). Bodies above the server's limit were refused with 413 before this.
    func decodeJSON<T: Decodable>(_ type: T.Type, context: DeskpoolRequestContext) async throws -> T {
        if let contentType = headers[.contentType], !contentType.lowercased().hasPrefix("application/json") {
            throw APIFailure(.unsupportedMediaType, code: "unsupportedMediaType", "send the body as application/json")
        }
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        do {
            return try APIJSON.decoder().decode(T.self, from: Data(buffer: buffer))
        } catch let error as ConfigurationError {
            // A pool spec's own checks (unknown key, bad size), worded for the admin.
            throw APIFailure(.badRequest, code: "invalidInput", error.message)
        } catch let error as DeskpoolError {
            throw APIFailure(error)
        } catch let error as DecodingError {
            throw Self.describe(error)
        } catch {
            throw APIFailure(.badRequest, code: "invalidInput", "the body is not valid JSON")
        }
    }

    static func describe(_ error: DecodingError) -> APIFailure {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return APIFailure(.badRequest, code: "invalidInput", "\(field) is missing", field: field)
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return APIFailure(.badRequest, code: "invalidInput", "\(field.isEmpty ? "the body" : field) must be \(Self.typeName(type)), not null", field: field.isEmpty ? nil : field)
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return APIFailure(.badRequest, code: "invalidInput", "\(field.isEmpty ? "the body" : field) must be \(Self.typeName(type))", field: field.isEmpty ? nil : field)
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            if field.isEmpty { return APIFailure(.badRequest, code: "invalidInput", "the body is not valid JSON") }
            return APIFailure(.badRequest, code: "invalidInput", "\(field) has an invalid value", field: field)
        @unknown default:
            return APIFailure(.badRequest, code: "invalidInput", "the body does not match what this endpoint takes")
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "an integer"
        case is Bool.Type: "true or false"
        case is Double.Type: "a number"
        default: String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }

    /// A query parameter that must be a name (pools, users, hosts...), or nil when absent.
    func nameParameter(_ key: String) throws -> String? {
        guard let value = uri.queryParameters[key[...]].map(String.init) else { return nil }
        guard DeskpoolConfiguration.isSafeName(value) else {
            throw APIFailure(.badRequest, code: "invalidInput", "\(key) must be a name (letters, digits, '.', '_' or '-')", field: key)
        }
        return value
    }
}

extension DeskpoolRequestContext {
    /// A path parameter that must be a name: a malformed one is a 400 naming the field (a
    /// well-formed name of nothing is the caller's 404).
    func name(_ key: String) throws -> String {
        guard let value = parameters.get(key) else { throw APIFailure(.notFound, code: "notFound", "no \(key) with that name") }
        guard DeskpoolConfiguration.isSafeName(value) else {
            throw APIFailure(.badRequest, code: "invalidInput", "\(key) must be a name (letters, digits, '.', '_' or '-', at most 64)", field: key)
        }
        return value
    }

    /// The logged-in user's session, or 401. A cookie-authenticated change without the
    /// session's CSRF token is 403.
    func requireSession(_ request: Request) throws -> LoginSession {
        guard let login else { throw APIFailure.unauthenticated() }
        if viaCookie, ![.get, .head, .options].contains(request.method), !csrfHeaderValid {
            throw APIFailure.forbidden("this change needs the session's CSRF token in the X-CSRF-Token header")
        }
        return login
    }

    /// As `requireSession`, and the user must be an admin (403 otherwise).
    func requireAdmin(_ request: Request) throws -> LoginSession {
        let login = try requireSession(request)
        guard login.admin else { throw APIFailure.forbidden("this needs the admin role") }
        return login
    }
}

/// A JSON answer.
func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
    var fields = headers
    fields[.contentType] = "application/json; charset=utf-8"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: try APIJSON.encoder().encode(value))))
}
