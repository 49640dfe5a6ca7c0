import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// What a template's domain XML pattern may hold: what a desktop needs, nothing that reaches
/// the host. An admin who could put `<qemu:commandline>`, a `<hostdev>`, a `<filesystem>` or a
/// disk on `/etc/shadow` into a template would be root on every hypervisor; the admin role is
/// not meant to be (see `docs/security.md`).
///
/// The check is an allowlist of elements and attributes by path
/// (`DomainXMLPolicy+Rules.swift`), with a specific reason for each known way to the host. It
/// parses without DTDs or entities: any `<!DOCTYPE>` or `<!ENTITY>` is refused before the
/// parser sees the text. Extras a host needs (a USB device passed through, a host bridge) are
/// named in `etc/deskpool.yaml` (`templates.allowedExtras`), never through the API; things
/// that are root by construction (qemu's command line, `<seclabel type='none'>`, another
/// emulator) have no extra.
///
/// Enforced where a template enters (`Administration.applyTemplate`, the API, `deskpool local
/// template apply`) and again when a desktop's definition is rendered, so a template stored
/// before the rule fails provisioning with the reason instead of running.
public struct DomainXMLPolicy: Sendable, Hashable {
    /// A named host-level capability a host may allow for its templates.
    public enum Extra: String, Sendable, Hashable, CaseIterable, Codable {
        /// `<hostdev mode='subsystem' type='usb'>`: a host USB device (a licence dongle).
        case usbHostdev
        /// `<hostdev mode='subsystem' type='pci'>`: a host PCI device (a GPU), through vfio.
        case pciHostdev
        /// `<interface type='bridge'>`: the desktop on a host bridge (`<source bridge=...>`).
        case bridgeInterface
        /// `<interface type='user'>`: qemu's user-mode networking, in which the guest reaches
        /// the host's loopback services at 10.0.2.2 (other desktops' SPICE displays, the API).
        case userInterface
    }

    /// Extras this host allows (`templates.allowedExtras`); default none.
    public var allowedExtras: Set<Extra>

    public init(allowedExtras: Set<Extra> = []) {
        self.allowedExtras = allowedExtras
    }

    /// The field refusals name: the API's and the template's field.
    public static let field = "domainXML"

    /// Throws `.invalidInput` (field `domainXML`) naming the first offending element as a path
    /// (`/domain/devices/hostdev: passes a host device to the guest`).
    public func check(_ xml: String) throws(DeskpoolError) {
        if let refusal = refusal(xml) { throw DeskpoolError(.invalidInput, refusal, field: Self.field) }
    }

    /// Why `xml` must not even be parsed: it declares a DTD or entities. Checked before any
    /// parse of a template's XML (a DTD can read host files through external entities, or
    /// expand without bound through nested ones, and a domain never needs one).
    /// Case-insensitive and anywhere in the text (also in comments): a false alarm costs
    /// nothing.
    public static func declarationRefusal(_ xml: String) -> String? {
        let lowered = xml.lowercased()
        guard lowered.contains("<!doctype") || lowered.contains("<!entity") else { return nil }
        return "<!DOCTYPE>: document type and entity declarations are refused (they can read host files or expand without bound)"
    }

    /// The reason `xml` is refused ("PATH: reason"), or nil when it is within a desktop's needs.
    public func refusal(_ xml: String) -> String? {
        if let refusal = Self.declarationRefusal(xml) { return refusal }
        let parser = XMLParser(data: Data(xml.utf8))
        let walker = Walker(policy: self)
        parser.delegate = walker
        parser.shouldResolveExternalEntities = false
        // swift-corelibs' parse() can return true for broken XML: parserError tells.
        let parsed = parser.parse() && parser.parserError == nil
        if let refusal = walker.refusal { return refusal }
        guard parsed else { return "/: the domain XML is not well-formed XML" }
        guard walker.sawRoot else { return "/: the domain XML has no <domain> element" }
        return nil
    }
}

extension DomainXMLPolicy {
    /// Walks the elements in document order and keeps the first refusal.
    private final class Walker: NSObject, XMLParserDelegate {
        let policy: DomainXMLPolicy
        var refusal: String?
        var sawRoot = false
        /// Open elements: qualified name, attributes (with their namespace declarations), text.
        private var stack: [(name: String, attributes: [String: String], text: String)] = []

        init(policy: DomainXMLPolicy) {
            self.policy = policy
        }

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            guard refusal == nil else { return }
            let names = stack.map(\.name) + [elementName]
            let path = "/" + names.map(DomainXMLPolicy.shown).joined(separator: "/")
            if stack.isEmpty {
                sawRoot = true
                guard elementName == "domain" else { return refuse(parser, "\(path): the root element must be <domain>") }
            }
            let context = Element(path: names.joined(separator: "/"), name: elementName, attributes: attributes,
                                  parent: stack.last?.attributes ?? [:], namespaces: namespaces(adding: attributes))
            if let reason = policy.reason(context) { return refuse(parser, "\(path): \(reason)") }
            stack.append((elementName, attributes, ""))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            guard refusal == nil, let element = stack.popLast() else { return }
            let path = (stack.map(\.name) + [element.name]).joined(separator: "/")
            if let reason = DomainXMLPolicy.textReason(path: path, text: element.text) { refuse(parser, "/\(path): \(reason)") }
        }

        private func refuse(_ parser: XMLParser, _ reason: String) {
            refusal = reason
            parser.abortParsing()
        }

        /// Prefix -> namespace URI in scope for an element with `attributes` ("" for the
        /// default namespace).
        private func namespaces(adding attributes: [String: String]) -> [String: String] {
            var scope: [String: String] = [:]
            for (_, open, _) in stack + [("", attributes, "")] {
                for (name, value) in open {
                    if name == "xmlns" { scope[""] = value } else if name.hasPrefix("xmlns:") { scope[String(name.dropFirst(6))] = value }
                }
            }
            return scope
        }
    }

    /// One element as the rules see it.
    struct Element {
        /// `domain/devices/graphics` (qualified names, no leading slash).
        var path: String
        var name: String
        var attributes: [String: String]
        /// The parent element's attributes (a channel's target depends on the channel's type).
        var parent: [String: String]
        /// Namespace prefixes in scope ("" for the default namespace).
        var namespaces: [String: String]

        subscript(_ attribute: String) -> String? { attributes[attribute] }
    }
}
