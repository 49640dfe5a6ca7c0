import Foundation
import Hummingbird

/// A posted HTML form (`application/x-www-form-urlencoded`), read with a small size limit:
/// the portal's forms hold a few short fields.
struct PortalForm: Sendable {
    static let maxBytes = 16_384

    var fields: [String: String] = [:]

    subscript(_ name: String) -> String? { fields[name] }

    init(fields: [String: String]) { self.fields = fields }

    /// The request's form. Another content type, or a body above the limit, reads as an empty
    /// form (which then fails its CSRF check).
    /// `limit` is larger for a form that carries a file's text (a policy).
    static func read(_ request: Request, context: DeskpoolRequestContext, limit: Int = maxBytes) async -> PortalForm {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded"),
              let buffer = try? await request.body.collect(upTo: min(limit, context.maxUploadSize)) else {
            return PortalForm(fields: [:])
        }
        return PortalForm(parsing: String(buffer: buffer))
    }

    /// Parses `a=1&b=two+words`; the first of repeated names wins.
    init(parsing text: String) {
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), !name.isEmpty, fields[name] == nil else { continue }
            fields[name] = parts.count > 1 ? (Self.decode(parts[1]) ?? "") : ""
        }
    }

    static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// Whether the form's `csrf` field is `expected` (compared in constant time).
    func carries(csrf expected: String) -> Bool {
        guard !expected.isEmpty, let value = fields["csrf"] else { return false }
        return AuthenticationMiddleware.constantTimeEqual(value, expected)
    }

    /// `next` if it is a path on this site (never another host: `//x`, `/\x`, a scheme),
    /// else nil. Login pages are not destinations.
    static func safeNext(_ next: String?) -> String? {
        guard let next, next.count <= 512, next.hasPrefix("/"), !next.hasPrefix("//"), !next.hasPrefix("/\\"),
              !next.hasPrefix("/login"), !next.hasPrefix("/logout") else { return nil }
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-._~%?&=+")
        guard next.unicodeScalars.allSatisfy(allowed.contains) else { return nil }
        return next
    }
}
