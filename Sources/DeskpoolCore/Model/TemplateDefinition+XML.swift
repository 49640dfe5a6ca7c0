import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

extension TemplateDefinition {
    /// Whether the domain XML pattern is well-formed XML whose root element is `<domain>`
    /// (checked when a template is applied, so a broken pattern fails there, not in every
    /// desktop the pool then tries to create).
    /// Text with a DTD is not parsed at all (`DomainXMLPolicy.declarationRefusal`): false.
    public var hasWellFormedDomainXML: Bool {
        guard DomainXMLPolicy.declarationRefusal(domainXML) == nil else { return false }
        let parser = XMLParser(data: Data(domainXML.utf8))
        let root = RootElement()
        parser.delegate = root
        parser.shouldResolveExternalEntities = false
        return parser.parse() && parser.parserError == nil && root.name == "domain"
    }
}

/// Notes the first element's name.
private final class RootElement: NSObject, XMLParserDelegate {
    var name: String?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if name == nil { name = elementName }
    }
}
