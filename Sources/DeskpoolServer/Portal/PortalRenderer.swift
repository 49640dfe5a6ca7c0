import Crypto
import Foundation
import Hummingbird
import HTTPTypes
import Mustache

/// The portal's templates and static files, read once from the module's bundle
/// (`Resources/templates/*.mustache`, `Resources/static/*`).
struct PortalRenderer: Sendable {
    /// A static file served at `/static/NAME`.
    struct Asset: Sendable {
        var contentType: String
        var bytes: [UInt8]
    }

    let library: MustacheLibrary
    let assets: [String: Asset]
    /// Names the content of the static files: their URLs carry it (`?v=`), so a long cache
    /// never serves an old stylesheet after an upgrade.
    let assetVersion: String
    /// Why the templates could not be loaded (a packaging fault), if they could not.
    let loadError: String?

    static let shared = PortalRenderer(resources: ServerResources.directory)

    init(resources: URL?) {
        var templates: [String: MustacheTemplate] = [:]
        var assets: [String: Asset] = [:]
        var loadError: String?
        if let resources {
            do {
                templates = try Self.templates(in: resources.appendingPathComponent("templates"))
                assets = Self.assets(in: resources.appendingPathComponent("static"))
            } catch {
                loadError = "cannot load the portal's templates: \(error)"
            }
        } else {
            loadError = "the portal's resources are not installed next to the broker"
        }
        library = MustacheLibrary(templates: templates)
        self.assets = assets
        var hash = SHA256()
        for name in assets.keys.sorted() { hash.update(data: assets[name]!.bytes) }
        assetVersion = hash.finalize().prefix(6).map { String(format: "%02x", $0) }.joined()
        self.loadError = loadError
    }

    static func templates(in directory: URL) throws -> [String: MustacheTemplate] {
        var templates: [String: MustacheTemplate] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            templates[String(name.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
        }
        return templates
    }

    static func assets(in directory: URL) -> [String: Asset] {
        let types = ["css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "svg": "image/svg+xml",
                     "png": "image/png", "ico": "image/x-icon"]
        var assets: [String: Asset] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] {
            guard let type = types[(name as NSString).pathExtension],
                  let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else { continue }
            assets[name] = Asset(contentType: type, bytes: Array(data))
        }
        return assets
    }

    /// An HTML answer: `page` rendered with `template` (which extends `layout`).
    func response<Content>(_ template: String, _ page: PortalPage<Content>, status: HTTPResponse.Status = .ok,
                           headers: HTTPFields = [:]) -> Response {
        var page = page
        page.assetVersion = assetVersion
        guard let html = library.render(page, withTemplate: template) else {
            return Response(status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: loadError ?? "the portal has no template \(template)")))
        }
        var fields = headers
        fields[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// `/static/NAME`: cached for a year (the pages link it with the content's version).
    func asset(_ name: String) -> Response? {
        guard let asset = assets[name] else { return nil }
        let headers: HTTPFields = [.contentType: asset.contentType, .cacheControl: "public, max-age=31536000, immutable"]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }
}
