public import DeskpoolCore
import Foundation
import FoundationXML

extension DesktopDomainXML {
    /// The desktop identity in Deskpool's metadata element (as `Domain.metadata` returns it),
    /// or nil when the element is not Deskpool's or lacks a field.
    public static func identity(fromMetadata xml: String) -> DesktopIdentity? {
        DomainMetadata.read(xml)?.identity
    }

    /// The desktop identity in a whole domain XML's `<metadata>`, or nil when it has none.
    public static func identity(fromDomainXML xml: String) -> DesktopIdentity? {
        guard let document = try? XMLDocument(xmlString: xml, options: []),
              let metadata = document.rootElement()?.child(named: "metadata") else { return nil }
        // The prefix is the document's choice: match the namespace, not the name.
        let element = metadata.children?.compactMap { $0 as? XMLElement }.first { element in
            element.uri == namespace
                || element.attribute(forName: "xmlns:\(element.prefix ?? "")")?.stringValue == namespace
                || element.name == "\(prefix):desktop"
        }
        return element.flatMap(identity(from:))
    }

    private static func identity(from element: XMLElement) -> DesktopIdentity? {
        func text(_ name: String) -> String? { element.attribute(forName: name)?.stringValue }
        func number(_ name: String) -> Int? { text(name).flatMap { Int($0) } }
        guard let id = text("id"), let name = text("name"), let pool = text("pool"), let template = text("template"),
              let version = number("version"), let incarnation = number("incarnation"),
              let generation = number("generation") else { return nil }
        return DesktopIdentity(id: id, name: name, pool: pool, template: template, version: version,
                               incarnation: incarnation, generation: generation)
    }
}
