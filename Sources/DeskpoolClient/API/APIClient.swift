public import AsyncHTTPClient
import DeskpoolCore
public import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A client of the broker's HTTP API (`docs/api.md`): one `HTTPClient`, the server's base URL
/// and, once logged in, the session's bearer token. Every endpoint has a typed method; errors
/// are `ClientError` (the broker said no), `ServerUnreachable` (no answer) or
/// `UnexpectedAnswer` (an answer that is not the documented JSON).
///
/// The token is sent only to `server`, and never appears in a description or log.
public struct APIClient: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The broker's base URL (`http://127.0.0.1:8080`), without a trailing slash.
    public let server: String
    /// The session token of a login.
    public var token: String?
    /// Time a request may take, answer included.
    public var requestTimeout: Duration
    let http: HTTPClient

    /// Answers above this size are refused (the largest API answers are desktop lists).
    static let maxAnswerBytes = 32 << 20

    /// - Parameter httpClient: the client to share (default: `APIClient.sharedHTTPClient`).
    public init(server: String, token: String? = nil, requestTimeout: Duration = .seconds(30), httpClient: HTTPClient = APIClient.sharedHTTPClient) throws {
        self.server = try Self.normalize(server: server)
        self.token = token
        self.requestTimeout = requestTimeout
        http = httpClient
    }

    /// One HTTP client for the process, never shut down (it lives as long as the process, like
    /// `HTTPClient.shared`). Unlike `HTTPClient.shared` it fails at once when nothing listens
    /// (`HTTPClient.shared` retries refused connections until the request's deadline), so a
    /// broker that is down is reported in milliseconds, not after 30 s; connecting may take 10 s.
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 5, allowCycles: false),
            timeout: .init(connect: .seconds(10)))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public var description: String { "APIClient(\(server)\(token == nil ? "" : ", logged in"))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["server": server, "loggedIn": token != nil]) }

    /// Checks a server URL and drops a trailing slash: `http` or `https`, a host, no query.
    public static func normalize(server: String) throws -> String {
        var text = server.trimmingCharacters(in: .whitespaces)
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil
        else {
            throw ClientError(status: 0, code: "invalidInput", message: "'\(server)' is not a server URL such as http://127.0.0.1:8080", field: "server")
        }
        return text
    }

    // MARK: - Sending

    /// A raw answer: status, headers and body.
    struct Answer: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: Data

        func header(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }

        /// `Retry-After` in seconds (the API sends delta-seconds, never a date).
        var retryAfterSeconds: Int? { header("Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    }

    /// The URL of a request: the server's URL, the path and the query.
    func url(for endpoint: Endpoint) throws -> String {
        var path = endpoint.path
        var query = endpoint.query
        // `poll` and `next` come from the broker as server-relative paths with their query.
        if let mark = path.firstIndex(of: "?") {
            let extra = URLComponents(string: "x:?" + path[path.index(after: mark)...])?.queryItems ?? []
            query = extra + query
            path = String(path[..<mark])
        }
        guard path.hasPrefix("/") else {
            throw UnexpectedAnswer(request: endpoint.path, reason: "not a path on the broker")
        }
        var components = URLComponents()
        components.queryItems = query.isEmpty ? nil : query
        return server + path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    /// Turns a link the broker gave (`poll`, `next`) into a path on this server. A link to
    /// another server is refused: the token must not go there.
    public func path(ofLink link: String) throws -> String {
        if link.hasPrefix("/") { return link }
        guard let linked = URLComponents(string: link), let base = URLComponents(string: server),
              linked.scheme?.lowercased() == base.scheme?.lowercased(), linked.host?.lowercased() == base.host?.lowercased(),
              linked.port == base.port
        else {
            throw UnexpectedAnswer(request: link, reason: "the broker linked to another server; not following")
        }
        var path = linked.percentEncodedPath
        let basePath = base.percentEncodedPath
        if !basePath.isEmpty, path.hasPrefix(basePath) { path.removeFirst(basePath.count) }
        return path + (linked.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    /// Sends a request and returns whatever the broker answered (any status).
    func send(_ endpoint: Endpoint) async throws -> Answer {
        var request = HTTPClientRequest(url: try url(for: endpoint))
        request.method = HTTPMethod(rawValue: endpoint.method.rawValue)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "deskpool-cli")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body = endpoint.body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        } else if endpoint.method != .get {
            request.headers.add(name: "Content-Length", value: "0")
        }
        do {
            let response = try await http.execute(request, timeout: TimeAmount(endpoint.timeout ?? requestTimeout))
            let buffer = try await response.body.collect(upTo: Self.maxAnswerBytes)
            return Answer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Data(buffer: buffer))
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw ServerUnreachable(server: server, reason: "no answer within \((endpoint.timeout ?? requestTimeout).components.seconds) s")
        } catch let error as HTTPClientError where error == .connectTimeout {
            throw ServerUnreachable(server: server, reason: "connecting timed out")
        } catch let error as NIOTooManyBytesError {
            _ = error
            throw UnexpectedAnswer(request: "\(endpoint.method.rawValue) \(endpoint.path)", reason: "the answer is larger than \(Self.maxAnswerBytes >> 20) MiB")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ServerUnreachable(server: server, reason: Self.reason(error))
        }
    }

    /// A short reason for a transport failure (NIO's descriptions name syscalls and errnos).
    static func reason(_ error: any Error) -> String {
        let text = String(describing: error)
        for (needle, reason) in [("Connection refused", "connection refused (is deskpool serve running, and listening there?)"),
                                 ("connectTimeout", "connecting timed out"),
                                 ("No route to host", "no route to host"),
                                 ("Name or service not known", "unknown host name"),
                                 ("nodename nor servname", "unknown host name"),
                                 ("NIOSSL", "TLS failed: \(text)"),
                                 ("remoteConnectionClosed", "the server closed the connection")]
        where text.contains(needle) {
            return reason
        }
        return text
    }

    /// Sends a request that must succeed (2xx); any other status becomes a `ClientError`.
    func expectSuccess(_ endpoint: Endpoint) async throws -> Answer {
        let answer = try await send(endpoint)
        guard (200..<300).contains(answer.status) else {
            throw ClientError(status: answer.status, body: answer.body, retryAfterSeconds: answer.retryAfterSeconds)
        }
        return answer
    }

    /// Sends a request and decodes its 2xx answer.
    func call<Value: Decodable>(_ endpoint: Endpoint, as type: Value.Type = Value.self) async throws -> Value {
        let answer = try await expectSuccess(endpoint)
        return try Self.decode(type, from: answer.body, request: endpoint)
    }

    /// Sends a request whose 2xx answer has no body of interest.
    func callIgnoringBody(_ endpoint: Endpoint) async throws {
        _ = try await expectSuccess(endpoint)
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from body: Data, request: Endpoint) throws -> Value {
        do {
            return try APIJSON.decoder().decode(type, from: body)
        } catch {
            throw UnexpectedAnswer(request: "\(request.method.rawValue) \(request.path)", reason: "cannot read it as \(Value.self): \(Self.decodingReason(error))")
        }
    }

    private static func decodingReason(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: "no \(key.stringValue) at \(path(context))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
            "\(context.debugDescription) at \(path(context))"
        default: String(describing: error)
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let text = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return text.isEmpty ? "the top" : text
    }

    /// Sends a request and gives back its 2xx JSON answer, pretty-printed with sorted keys,
    /// as the broker sent it otherwise (for `--json`).
    public func rawJSON(_ endpoint: Endpoint) async throws -> Data {
        let answer = try await expectSuccess(endpoint)
        return try PrettyJSON.format(answer.body)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
