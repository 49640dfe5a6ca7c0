public import DeskpoolCore

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

    /// `POST /api/v1/admin/templates/{name}/versions`: publishes the next version from an
    /// image file on the broker's host (the broker answers when the image is on every host: up
    /// to an hour is waited).
    public func publishVersion(template: String, imagePath: String, note: String) async throws -> TemplateVersion {
        var endpoint = try Endpoint.api(.post, "admin", "templates", template, "versions").sending(PublishRequest(imagePath: imagePath, note: note))
        endpoint.timeout = .seconds(3600)
        return try await call(endpoint)
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
