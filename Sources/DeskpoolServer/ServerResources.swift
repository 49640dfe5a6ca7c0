import Foundation

/// The files bundled with the server (`Resources/`: portal templates, static files, the
/// OpenAPI document), found and read once per process.
enum ServerResources {
    /// The bundle's `Resources` folder: SwiftPM copies it whole (`.copy("Resources")`), and
    /// depending on the platform it sits at the bundle's root or in its resource folder.
    static let directory: URL? = {
        let candidates = [
            Bundle.module.url(forResource: "Resources", withExtension: nil),
            Bundle.module.resourceURL?.appendingPathComponent("Resources"),
            Bundle.module.bundleURL.appendingPathComponent("Resources"),
            Bundle.module.url(forResource: "templates", withExtension: nil)?.deletingLastPathComponent(),
        ]
        return candidates.compactMap { $0 }.first { url in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.appendingPathComponent("templates").path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
    }()

    /// `docs/openapi.json` (the bundled copy it links to); nil if not installed.
    static let openAPIDocument: Data? = directory.flatMap { try? Data(contentsOf: $0.appendingPathComponent("openapi.json")) }
}
