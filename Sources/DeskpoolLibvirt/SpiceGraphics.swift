import Foundation
import FoundationXML

/// A domain's live SPICE (or VNC) `<graphics>` element, read from its XML, and the device
/// update that sets a new console password on it.
///
/// libvirt refuses a graphics update that changes the port, TLS port, autoport, listen
/// addresses or keymap ("cannot change ... settings"), so the update repeats every attribute
/// and child element of the live element and changes only `passwd`, `passwdValidTo` and
/// `connected`. Read with `XMLParser`, which (unlike `XMLDocument`) does not leak on Linux;
/// written with escaping, so no value can break out of its attribute.
struct SpiceGraphics: Sendable, Hashable {
    /// The live element's attributes (password attributes excluded).
    var attributes: [(name: String, value: String)]
    /// Its child elements (`listen`, `channel`, `image`, ...), with their attributes.
    var children: [(name: String, attributes: [(name: String, value: String)])]

    static func == (lhs: SpiceGraphics, rhs: SpiceGraphics) -> Bool { lhs.xml(password: nil) == rhs.xml(password: nil) }
    func hash(into hasher: inout Hasher) { hasher.combine(xml(password: nil)) }

    var port: Int? { attribute("port").flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil } }
    var tlsPort: Int? { attribute("tlsPort").flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil } }

    func attribute(_ name: String) -> String? { attributes.first { $0.name == name }?.value }

    /// The first graphics element of `type` (`spice`, or `vnc` for the browser display) of a
    /// domain's XML; nil when it has none.
    static func read(fromDomainXML xml: String, type: String = "spice") -> SpiceGraphics? {
        let reader = Reader(type: type)
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = reader
        _ = parser.parse()
        return reader.result
    }

    /// The update: same settings, a new password valid until `validTo`; with `disconnect`,
    /// clients connected now are dropped (else kept).
    /// nil `disconnect` leaves `connected` out: VNC supports only keeping clients.
    func update(password: String, validTo: Date, disconnect: Bool?) -> String {
        xml(password: (password, Self.timestamp(validTo), disconnect.map { $0 ? "disconnect" : "keep" }))
    }

    private func xml(password: (value: String, validTo: String, connected: String?)?) -> String {
        var attributes = self.attributes
        if let password {
            attributes += [("passwd", password.value), ("passwdValidTo", password.validTo)]
            if let connected = password.connected { attributes.append(("connected", connected)) }
        }
        var xml = "<graphics" + Self.render(attributes) + ">"
        for child in children { xml += "<\(child.name)" + Self.render(child.attributes) + "/>" }
        return xml + "</graphics>"
    }

    private static func render(_ attributes: [(name: String, value: String)]) -> String {
        attributes.map { " \($0.name)='\(DesktopDomainXML.escaped($0.value))'" }.joined()
    }

    /// libvirt's `passwdValidTo` form: UTC, seconds.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// Collects the first `<graphics type='TYPE'>` under `<devices>` and its children.
    private final class Reader: NSObject, XMLParserDelegate {
        let type: String
        var result: SpiceGraphics?

        init(type: String) { self.type = type }

        private var path: [String] = []
        private var inside = false
        private var done = false

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            defer { path.append(name) }
            guard !done else { return }
            // Element names in document order; attribute order from the parser is not, so sort.
            let sorted = attributes.filter { !Self.passwordAttributes.contains($0.key) }.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
            if inside, path.last == "graphics" {
                result?.children.append((name, sorted))
            } else if !inside, name == "graphics", path.suffix(2) == ["domain", "devices"], attributes["type"] == type {
                inside = true
                result = SpiceGraphics(attributes: sorted, children: [])
            }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            path.removeLast()
            if inside, name == "graphics", path.suffix(2) == ["domain", "devices"] {
                inside = false
                done = true
            }
        }

        static let passwordAttributes: Set<String> = ["passwd", "passwdValidTo", "connected"]
    }
}
