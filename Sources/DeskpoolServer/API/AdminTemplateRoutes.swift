import DeskpoolCore
import Foundation
import Hummingbird

/// `/api/v1/admin/templates`: definitions, publishing versions (from an upload, a file of the
/// import directory or a volume of the storage pool), deleting unused versions.
struct AdminTemplateRoutes {
    let services: BrokerServices

    func add(to admin: RouterGroup<DeskpoolRequestContext>) {
        admin.get("templates") { request, context -> Response in
            _ = try context.requireAdmin(request)
            var views: [TemplateView] = []
            for template in try await services.broker.templates() {
                views.append(TemplateView(template, versions: try await services.broker.versions(template: template.name)))
            }
            return try jsonResponse(views)
        }
        admin.get("templates/:name") { request, context -> Response in
            _ = try context.requireAdmin(request)
            let template = try await template(context)
            return try jsonResponse(TemplateView(template, versions: try await services.broker.versions(template: template.name)))
        }
        admin.put("templates/:name") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let name = try context.name("name")
            let input = try await request.decodeJSON(TemplateInput.self, context: context)
            let definition = try Self.definition(name: name, input)
            try await services.admin.applyTemplate(definition, actor: "admin:\(login.user)")
            return try jsonResponse(TemplateView(definition, versions: try await services.broker.versions(template: name)))
        }
        admin.post("templates/:name/versions") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let template = try await template(context).name
            let source: ImageSource
            let note: String
            if Self.isUpload(request) {
                // The image is the body: checked before it is read (the template, the note,
                // the declared size), streamed to a staging file, opened and inspected.
                note = request.uri.queryParameters.get("note") ?? ""
                try Self.checkNote(note)
                let upload = ImageUpload(limits: services.admin.images)
                do {
                    source = .opened(try await upload.receive(request))
                } catch let error as DeskpoolError {
                    return try Self.refusingUpload(error, request: request, context: context)
                }
            } else {
                let body = try await request.decodeJSON(PublishRequest.self, context: context)
                note = body.note
                source = try Self.source(body, images: services.admin.images)
            }
            let version = try await services.admin.publishVersion(template: template, from: source, note: note, actor: "admin:\(login.user)")
            services.poke()
            return try jsonResponse(version, status: .created)
        }
        admin.delete("templates/:name/versions/:number") { request, context -> Response in
            let login = try context.requireAdmin(request)
            let name = try context.name("name")
            guard let number = context.parameters.get("number").flatMap(Int.init), number >= 1 else {
                throw APIFailure(.notFound, code: "notFound", "template \(name) has no such version", field: "number")
            }
            try await services.admin.deleteVersion(template: name, number: number, actor: "admin:\(login.user)")
            return Response(status: .noContent)
        }
    }

    private func template(_ context: DeskpoolRequestContext) async throws -> TemplateDefinition {
        let name = try context.name("name")
        guard let template = try await services.broker.template(named: name) else {
            throw APIFailure(.notFound, code: "notFound", "no template named \(name)", field: "name")
        }
        return template
    }

    /// A template definition from the API's fields, with the same bounds as `template.yaml`.
    static func definition(name: String, _ input: TemplateInput) throws -> TemplateDefinition {
        var definition = TemplateDefinition(name: name, domainXML: input.domainXML, identity: input.identity)
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
        // A DTD is never parsed; the rest of the domain XML policy is Administration's.
        if let refusal = DomainXMLPolicy.declarationRefusal(input.domainXML) {
            throw APIFailure(.badRequest, code: "invalidInput", refusal, field: "domainXML")
        }
        guard definition.hasWellFormedDomainXML else {
            throw APIFailure(.badRequest, code: "invalidInput", "must be well-formed XML with a <domain> root element", field: "domainXML")
        }
        return definition
    }

    /// Whether the request is an image upload (the body limit does not apply to it).
    static func isUpload(_ request: Request) -> Bool {
        guard request.method == .post, let type = request.headers[.contentType],
              type.lowercased().hasPrefix("application/octet-stream") else { return false }
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 7 && parts[0].isEmpty && parts[1] == "api" && parts[2] == "v1" && parts[3] == "admin"
            && parts[4] == "templates" && !parts[5].isEmpty && parts[6] == "versions"
    }

    /// Answers a refused upload, then closes the connection: the rest of its body (an endless
    /// one, too) is never read, where Hummingbird would otherwise read and drop it to its end.
    static func refusingUpload(_ error: DeskpoolError, request: Request, context: DeskpoolRequestContext) throws -> Response {
        let failure = APIFailure(error)
        let data = try APIJSON.encoder().encode(failure.body)
        var headers = failure.headers
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.connection] = "close"
        let channel = context.channel
        return Response(status: failure.status, headers: headers, body: ResponseBody(contentLength: data.count) { writer in
            try await writer.write(ByteBuffer(bytes: data))
            try await writer.finish(nil)
            channel.close(mode: .all, promise: nil)
        })
    }

    /// The same check `Administration.publishVersion` makes, before an upload is read.
    static func checkNote(_ note: String) throws {
        guard note.count <= 500, !note.contains(where: { $0.isNewline || ($0.asciiValue.map { $0 < 32 } ?? false) }) else {
            throw APIFailure(.badRequest, code: "invalidInput", "must be one line of at most 500 characters", field: "note")
        }
    }

    /// A JSON request's image: exactly one of a file of the import directory (opened and
    /// inspected here) and a volume of the storage pool (inspected by each host).
    static func source(_ body: PublishRequest, images: ImageImportConfiguration) throws -> ImageSource {
        if body.imagePath != nil {
            throw APIFailure(.badRequest, code: "invalidInput",
                             "images are no longer read from paths on the broker's host: upload the image (POST with Content-Type application/octet-stream, or deskpool templates publish NAME FILE), or name a file of the import directory (importFile) or a volume of the storage pool (volume)",
                             field: "imagePath")
        }
        switch (body.importFile, body.volume) {
        case (let file?, nil):
            return .opened(try OpenedImage.open(name: file, inDirectory: images.importDirectory, limits: images))
        case (nil, let volume?):
            guard DeskpoolConfiguration.isSafeName(volume) else {
                throw APIFailure(.badRequest, code: "invalidInput", "must be the name of a volume in the storage pool", field: "volume")
            }
            return .volume(volume)
        default:
            throw APIFailure(.badRequest, code: "invalidInput",
                             "give exactly one of importFile (a file in the import directory) and volume (a volume of the storage pool), or upload the image",
                             field: "importFile")
        }
    }
}
