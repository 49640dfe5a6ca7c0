public import Foundation
import DeskpoolCore

/// One request of the API: method, path under the server's URL, query and JSON body. The
/// typed methods of `APIClient` are built on these; `APIClient.rawJSON(_:)` sends one and
/// gives back the answer's JSON as it came (for `--json`).
public struct Endpoint: Sendable, Hashable {
    public enum Method: String, Sendable, Hashable {
        case get = "GET", post = "POST", put = "PUT", delete = "DELETE"
    }

    public var method: Method
    /// The path, starting with `/` (`/api/v1/admin/pools`), already percent-encoded.
    public var path: String
    public var query: [URLQueryItem]
    public var body: Data?
    /// Time this request may take, when it is not the client's `requestTimeout` (publishing
    /// a version copies an image to every host).
    public var timeout: Duration?

    public init(_ method: Method, _ path: String, query: [URLQueryItem] = [], body: Data? = nil, timeout: Duration? = nil) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.timeout = timeout
    }

    /// `/api/v1/` followed by the components, each percent-encoded (a name never adds a level).
    static func api(_ method: Method, _ components: String..., query: [URLQueryItem] = []) -> Endpoint {
        Endpoint(method, "/api/v1/" + components.map(escape).joined(separator: "/"), query: query)
    }

    /// The same request with a JSON body.
    func sending(_ value: some Encodable) throws -> Endpoint {
        var copy = self
        copy.body = try APIJSON.encoder().encode(value)
        return copy
    }

    static func escape(_ component: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#;")
        return component.addingPercentEncoding(withAllowedCharacters: allowed) ?? component
    }

    /// Query items for the filters that are set.
    static func filters(_ pairs: KeyValuePairs<String, String?>) -> [URLQueryItem] {
        pairs.compactMap { key, value in value.map { URLQueryItem(name: key, value: $0) } }
    }
}
