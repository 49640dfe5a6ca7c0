import DeskpoolCore
import Foundation
import FoundationXML
import Synchronization

/// Deskpool's metadata of one domain: who it is, and which broker installation made it.
struct DomainMetadata: Sendable, Hashable {
    var identity: DesktopIdentity
    /// nil: written before instances existed.
    var instance: String?

    /// Reads the metadata element as `Domain.metadata` returns it; nil when it is not
    /// Deskpool's or lacks a field. `DesktopDomainXML.identity(fromMetadata:)` is this.
    ///
    /// Reads with `XMLParser` (libxml2's SAX interface): on Linux every `XMLDocument` leaks a
    /// few KiB (swift-corelibs-foundation), which a broker that reads the metadata of
    /// thousands of domains cannot afford.
    static func read(_ xml: String) -> DomainMetadata? {
        let parser = XMLParser(data: Data(xml.utf8))
        parser.shouldProcessNamespaces = true
        let reader = RootReader()
        parser.delegate = reader
        _ = parser.parse()
        guard reader.isDesktop, let attributes = reader.attributes else { return nil }
        func number(_ name: String) -> Int? { attributes[name].flatMap { Int($0) } }
        guard let id = attributes["id"], let name = attributes["name"], let pool = attributes["pool"],
              let template = attributes["template"], let version = number("version"),
              let incarnation = number("incarnation"), let generation = number("generation") else { return nil }
        return DomainMetadata(
            identity: DesktopIdentity(id: id, name: name, pool: pool, template: template, version: version,
                                      incarnation: incarnation, generation: generation),
            instance: attributes["instance"])
    }

    /// Keeps the root element's name and attributes.
    private final class RootReader: NSObject, XMLParserDelegate {
        var attributes: [String: String]?
        var isDesktop = false

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            guard self.attributes == nil else { return }
            self.attributes = attributes
            isDesktop = elementName == "desktop" || qualifiedName == "\(DesktopDomainXML.prefix):desktop"
        }
    }
}

/// Reads one attribute of the first element at a path of element names from the root
/// (`["volume", "target", "format"]`, `"type"`), with `XMLParser`: unlike `XMLDocument` it
/// does not leak on Linux, so it suits XML read once per desktop.
final class XMLAttributeReader: NSObject, XMLParserDelegate {
    private let path: [String]
    private let attribute: String
    private var stack: [String] = []
    private(set) var value: String?

    static func value(of attribute: String, at path: [String], in xml: String) -> String? {
        let reader = XMLAttributeReader(path: path, attribute: attribute)
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = reader
        _ = parser.parse()
        return reader.value
    }

    private init(path: [String], attribute: String) {
        self.path = path
        self.attribute = attribute
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        stack.append(elementName)
        if value == nil, stack == path { value = attributes[attribute] }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
    }
}

/// The Deskpool metadata of a host's domains, by domain UUID, read from libvirt once per
/// domain.
///
/// Deskpool writes a domain's metadata when it defines the domain and never changes it, and
/// a domain keeps its UUID, so a steady-state `observe()` makes one listing call per host
/// instead of one metadata call per domain. An entry is dropped when its domain is no longer
/// listed, and on a `defined` or `undefined` lifecycle event of its UUID (someone redefined
/// the domain, which may change its metadata). Domains without Deskpool metadata are
/// remembered too (as nil).
final class DomainMetadataCache: Sendable {
    private let entries = Mutex<[String: DomainMetadata?]>([:])

    /// `.some(nil)`: known to have no Deskpool metadata; nil: not known.
    subscript(uuid: String) -> DomainMetadata?? {
        entries.withLock { $0[uuid] }
    }

    func store(_ metadata: DomainMetadata?, uuid: String) {
        entries.withLock { $0[uuid] = .some(metadata) }
    }

    func forget(uuid: String) {
        _ = entries.withLock { $0.removeValue(forKey: uuid) }
    }

    /// Drops the entries of domains no longer on the host.
    func keep(only uuids: Set<String>) {
        entries.withLock { entries in
            if entries.keys.contains(where: { !uuids.contains($0) }) { entries = entries.filter { uuids.contains($0.key) } }
        }
    }
}
