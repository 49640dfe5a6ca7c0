import Foundation
import Hummingbird
import HTTPTypes

/// Serves noVNC's scripts from where Debian's `novnc` package installs them
/// (`http.novncDirectory`): only `.js` files under `core/` and `vendor/`, by path components
/// of safe characters, so nothing else of the host's file system is reachable.
struct NoVNCFiles: Sendable {
    let directory: String

    /// The file for the path after `/novnc/`; nil when it is not one that may be served.
    func response(for components: [Substring]) -> Response? {
        guard let path = Self.relativePath(components) else { return nil }
        let url = URL(fileURLWithPath: directory).appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: url.path), data.count <= 4 << 20 else { return nil }
        let headers: HTTPFields = [.contentType: "text/javascript; charset=utf-8", .cacheControl: "public, max-age=3600"]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `core/...` or `vendor/...` ending in `.js`, each component letters, digits, `.`, `_`,
    /// `-`, not starting with a dot; nil otherwise.
    static func relativePath(_ components: [Substring]) -> String? {
        guard components.count >= 2, components.count <= 8, ["core", "vendor"].contains(components[0]),
              components.last?.hasSuffix(".js") == true else { return nil }
        for component in components {
            guard !component.isEmpty, component.count <= 64, !component.hasPrefix("."),
                  component.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else { return nil }
        }
        return components.joined(separator: "/")
    }
}
