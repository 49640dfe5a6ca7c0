import DeskpoolCore
import Foundation
import Hummingbird

/// `/api/v1/admin/templates`: definitions, publishing versions from an image on the broker's
/// host, deleting unused versions.
struct AdminTemplateRoutes {
    let services: BrokerServices

    func add(to admin: RouterGroup<BrokerRequestContext>) {
        admin.get("templates") { request, context -> Response in
            _ = try context.requireAdmin(request)
            var views: [TemplateView] = []
            for template in try await services.store.templates() {
                views.append(TemplateView(template, versions: try await services.store.versions(template: template.name)))
            }
            return try jsonResponse(views)
        }
        admin.get("templates/:name") { request, context -> Response in
            _ = try context.requireAdmin(request)
            let template = try await template(context)
            return try jsonResponse(TemplateView(template, versions: try await services.store.versions(template: template.name)))
        }
        admin.put("templates/:name") { request, context -> Response in
            let session = try context.requireAdmin(request)
            let name = try context.name("name")
            let input = try await request.decodeJSON(TemplateInput.self, context: context)
            let definition = try Self.definition(name: name, input)
            try await services.admin.applyTemplate(definition, actor: "admin:\(session.user)")
            return try jsonResponse(TemplateView(definition, versions: try await services.store.versions(template: name)))
        }
        admin.post("templates/:name/versions") { request, context -> Response in
            let session = try context.requireAdmin(request)
            let name = try context.name("name")
            let body = try await request.decodeJSON(PublishRequest.self, context: context)
            let path = try Self.imagePath(body.imagePath)
            let version = try await services.admin.publishVersion(template: name, from: .file(path), note: body.note, actor: "admin:\(session.user)")
            services.poke()
            return try jsonResponse(version, status: .created)
        }
        admin.delete("templates/:name/versions/:number") { request, context -> Response in
            let session = try context.requireAdmin(request)
            let name = try context.name("name")
            guard let number = context.parameters.get("number").flatMap(Int.init), number >= 1 else {
                throw APIFailure(.notFound, code: "notFound", "template \(name) has no such version", field: "number")
            }
            try await services.admin.deleteVersion(template: name, number: number, actor: "admin:\(session.user)")
            return Response(status: .noContent)
        }
    }

    private func template(_ context: BrokerRequestContext) async throws -> TemplateDefinition {
        let name = try context.name("name")
        guard let template = try await services.store.template(named: name) else {
            throw APIFailure(.notFound, code: "notFound", "no template named \(name)", field: "name")
        }
        return template
    }

    /// A template definition from the API's fields, with the same bounds as `template.yaml`.
    static func definition(name: String, _ input: TemplateInput) throws -> TemplateDefinition {
        var definition = TemplateDefinition(name: name, domainXML: input.domainXML)
        let bounds: [(String, Int?, ClosedRange<Int>, WritableKeyPath<TemplateDefinition, Int>)] = [
            ("vcpus", input.vcpus, 1...64, \.vcpus), ("memoryMiB", input.memoryMiB, 64...1_048_576, \.memoryMiB),
            ("bootTimeoutSeconds", input.bootTimeoutSeconds, 10...3600, \.bootTimeoutSeconds),
        ]
        for (field, value, range, keyPath) in bounds {
            guard let value else { continue }
            guard range.contains(value) else {
                throw APIFailure(.badRequest, code: "invalidInput", "must be between \(range.lowerBound) and \(range.upperBound)", field: field)
            }
            definition[keyPath: keyPath] = value
        }
        if let machine = input.machine {
            guard DeskpoolConfiguration.isSafeName(machine) else {
                throw APIFailure(.badRequest, code: "invalidInput", "must be a machine type such as pc or q35", field: "machine")
            }
            definition.machine = machine
        }
        guard input.domainXML.utf8.count <= 262_144 else {
            throw APIFailure(.badRequest, code: "invalidInput", "must be at most 256 KiB", field: "domainXML")
        }
        guard definition.hasWellFormedDomainXML else {
            throw APIFailure(.badRequest, code: "invalidInput", "must be well-formed XML with a <domain> root element", field: "domainXML")
        }
        return definition
    }

    /// An image file on the broker's host: an absolute path to a readable regular file.
    static func imagePath(_ path: String) throws -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard path.hasPrefix("/"), !path.contains("\0"), path.count <= 4096, url.path == path,
              FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              FileManager.default.isReadableFile(atPath: path) else {
            throw APIFailure(.badRequest, code: "invalidInput", "must be the absolute path of a readable image file on the broker's host",
                             field: "imagePath")
        }
        return path
    }
}
