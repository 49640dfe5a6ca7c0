import DeskpoolCore
import Foundation
import HummingbirdTesting
import HTTPTypes
import NIOCore

/// The portal as a browser uses it: pages with the session cookie, forms posted url-encoded.
extension TestClientProtocol {
    /// A page (or form post) with `credentials`' cookie.
    func page(_ method: HTTPRequest.Method = .get, _ uri: String, as credentials: Credentials? = nil,
              form: [(String, String)]? = nil, cookies: [String] = []) async throws -> (status: HTTPResponse.Status, body: Data, headers: HTTPFields) {
        var headers = HTTPFields()
        let cookies = cookies + (credentials.map { ["deskpool_session=\($0.cookie)"] } ?? [])
        if !cookies.isEmpty { headers[.cookie] = cookies.joined(separator: "; ") }
        var body: ByteBuffer?
        if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            body = ByteBuffer(string: form.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&"))
        }
        return try await execute(uri: uri, method: method, headers: headers, body: body) { response in
            (response.status, Data(buffer: response.body), response.headers)
        }
    }

    /// Opens the login page; returns its login token (the form field and the cookie, which must match).
    func loginForm() async throws -> String {
        let answer = try await page(.get, "/login")
        guard let token = answer.headers.cookie(PortalTestCookies.login), !token.isEmpty else { throw RigError("/login set no login cookie") }
        return token
    }

    /// Logs in through the portal's form; returns the answer (303 and the session cookie on success).
    func portalLogin(_ user: String, _ password: String? = nil, next: String? = nil) async throws
        -> (status: HTTPResponse.Status, body: Data, headers: HTTPFields) {
        let token = try await loginForm()
        var fields = [("csrf", token), ("user", user), ("password", password ?? "\(user)-pw")]
        if let next { fields.append(("next", next)) }
        return try await page(.post, "/login", form: fields, cookies: ["\(PortalTestCookies.login)=\(token)"])
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }
}

enum PortalTestCookies {
    static let login = "deskpool_login_csrf"
    static let session = "deskpool_session"
}

extension HTTPFields {
    /// The value `Set-Cookie` gives the cookie `name`.
    func cookie(_ name: String) -> String? {
        setCookie(name).flatMap { $0.split(separator: ";").first }.map { String($0.dropFirst(name.count + 1)) }
    }

    /// The whole `Set-Cookie` line of the cookie `name`.
    func setCookie(_ name: String) -> String? {
        self[values: .setCookie].first { $0.hasPrefix("\(name)=") }
    }
}
