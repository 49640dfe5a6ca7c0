/// The request did not get an answer: the server could not be reached, or did not answer in
/// time, or the answer could not be read.
public struct ServerUnreachable: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server's URL.
    public var server: String
    /// What went wrong, in a few words.
    public var reason: String

    public init(server: String, reason: String) {
        self.server = server
        self.reason = reason
    }

    public var description: String {
        "error: cannot reach the broker at \(server): \(reason)"
    }
}

/// An answer that came but cannot be used (not the JSON the API documents).
public struct UnexpectedAnswer: Error, Sendable, Hashable, CustomStringConvertible {
    public var request: String
    public var reason: String

    public init(request: String, reason: String) {
        self.request = request
        self.reason = reason
    }

    public var description: String {
        "error: unexpected answer to \(request): \(reason)"
    }
}
