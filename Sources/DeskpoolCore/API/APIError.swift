/// The body of every error answer of the HTTP API: `{"error": {"code", "message", "field"?}}`.
public struct APIErrorBody: Sendable, Hashable, Codable {
    public struct Detail: Sendable, Hashable, Codable {
        public var code: String
        public var message: String
        public var field: String?
        public init(code: String, message: String, field: String? = nil) {
            self.code = code
            self.message = message
            self.field = field
        }
    }

    public var error: Detail
    /// What the authentication stack said before a login step failed (logins only).
    public var messages: [AuthMessage]?

    public init(code: String, message: String, field: String? = nil, messages: [AuthMessage]? = nil) {
        error = Detail(code: code, message: message, field: field)
        self.messages = messages
    }

    public init(_ error: DeskpoolError) {
        self.init(code: error.code.name, message: error.message, field: error.field)
    }
}
