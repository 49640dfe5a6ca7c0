public import DeskpoolCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

extension APIClient {
    /// `GET /api/v1/admin/templates`.
    public func templates() async throws -> [TemplateView] {
        try await call(.templates)
    }

    /// `GET /api/v1/admin/templates/{name}`.
    public func template(_ name: String) async throws -> TemplateView {
        try await call(.template(name))
    }

    /// `PUT /api/v1/admin/templates/{name}`: creates or changes a template's definition.
    public func putTemplate(_ name: String, _ input: TemplateInput) async throws -> TemplateView {
        try await call(.api(.put, "admin", "templates", name).sending(input))
    }

    /// `POST /api/v1/admin/templates/{name}/versions`: publishes the next version from a file
    /// of the broker's import directory or a volume of the storage pool (give one). The
    /// broker answers when the image is on every host: up to an hour is waited.
    public func publishVersion(template: String, importFile: String? = nil, volume: String? = nil, note: String) async throws -> TemplateVersion {
        var endpoint = try Endpoint.api(.post, "admin", "templates", template, "versions")
            .sending(PublishRequest(importFile: importFile, volume: volume, note: note))
        endpoint.timeout = .seconds(3600)
        return try await call(endpoint)
    }

    /// `POST /api/v1/admin/templates/{name}/versions?note=...` with the local image `file` as
    /// the body (`application/octet-stream`), streamed from disk with its length declared,
    /// never read into memory whole.
    public func uploadVersion(template: String, file: String, note: String) async throws -> TemplateVersion {
        let endpoint = Endpoint.api(.post, "admin", "templates", template, "versions", query: [URLQueryItem(name: "note", value: note)])
        let chunks = try FileChunks(path: file)
        var request = HTTPClientRequest(url: try url(for: endpoint))
        request.method = .POST
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "deskpool-cli")
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .stream(chunks, length: .known(Int64(chunks.size)))
        let answer: Answer
        do {
            let response = try await http.execute(request, timeout: .hours(6))
            let buffer = try await response.body.collect(upTo: Self.maxAnswerBytes)
            answer = Answer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Data(buffer: buffer))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ServerUnreachable(server: server, reason: Self.reason(error))
        }
        guard (200..<300).contains(answer.status) else {
            throw ClientError(status: answer.status, body: answer.body, retryAfterSeconds: answer.retryAfterSeconds)
        }
        return try Self.decode(TemplateVersion.self, from: answer.body, request: endpoint)
    }

    /// `DELETE /api/v1/admin/templates/{name}/versions/{n}` (409 `versionInUse` while used).
    public func deleteVersion(template: String, number: Int) async throws {
        try await callIgnoringBody(.api(.delete, "admin", "templates", template, "versions", String(number)))
    }
}

extension Endpoint {
    public static let templates = Endpoint.api(.get, "admin", "templates")
    public static func template(_ name: String) -> Endpoint { .api(.get, "admin", "templates", name) }
}
