public import DeskpoolCore
public import Foundation

/// The broker answered with an error (any status other than 2xx): its code, message and the
/// input field at fault, from the `APIErrorBody`. The description reads
/// `error: notFound: no pool named x` (`error: invalidInput: min: must not be negative` with a
/// field).
public struct ClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status.
    public var status: Int
    /// The API's error code (`notFound`, `exhausted`, ...); `http<status>` when the answer was
    /// not an API error body (a proxy's page, say).
    public var code: String
    public var message: String
    public var field: String?
    /// Seconds the broker asked to wait (`Retry-After` of a 429 or 503), if it said.
    public var retryAfterSeconds: Int?
    /// What the authentication stack said before a login step failed.
    public var messages: [AuthMessage] = []

    public init(status: Int, code: String, message: String, field: String? = nil, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// Reads an error answer. A body that is not an `APIErrorBody` still gives an error that
    /// names the status and the start of the body.
    public init(status: Int, body: Data, retryAfterSeconds: Int? = nil) {
        if let decoded = try? APIJSON.decoder().decode(APIErrorBody.self, from: body) {
            self.init(status: status, code: decoded.error.code, message: decoded.error.message, field: decoded.error.field,
                      retryAfterSeconds: retryAfterSeconds)
            messages = decoded.messages ?? []
        } else {
            let text = String(decoding: body.prefix(200), as: UTF8.self)
                .split(whereSeparator: \.isNewline).joined(separator: " ")
                .trimmingCharacters(in: .whitespaces)
            self.init(status: status, code: "http\(status)",
                      message: text.isEmpty ? "the server answered \(status) without an error body" : "the server answered \(status): \(text)",
                      retryAfterSeconds: retryAfterSeconds)
        }
    }

    public var description: String {
        "error: \(code): " + (field.map { "\($0): \(message)" } ?? message)
    }

    /// A line of advice for codes a person can act on, or nil.
    public var hint: String? {
        switch code {
        case "unauthenticated": "log in first: deskpool login --server URL --user NAME"
        case "forbidden": "admin commands need membership of the broker's admin group (authentication.adminGroup)"
        case "notEntitled": "ask an admin to entitle you to the pool (deskpool pools entitle)"
        case "exhausted": "the pool has no desktop left for you; try again later or ask an admin to raise its max"
        case "throttled": retryAfterSeconds.map { "too many attempts; wait \($0) s" } ?? "too many attempts; wait a little"
        case "versionInUse": "desktops still use the version or a pool pins it"
        case "challengeExpired": "the login took too long or was answered already; log in again"
        case "factorRequired": "the pool asks for a further login first (deskpool connect asks it at the terminal)"
        default: nil
        }
    }
}
