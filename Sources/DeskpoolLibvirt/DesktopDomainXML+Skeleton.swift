import DeskpoolCore
import Foundation
import Synchronization

extension DesktopDomainXML {
    /// A template's domain XML, edited once, with random tokens where each desktop's values
    /// go. Filling it escapes every value for XML, so a value can never become markup.
    struct Skeleton: Sendable {
        let xml: String
        /// Random per skeleton: cannot occur in a pattern by chance.
        let marker: String

        static let keys = ["id", "name", "pool", "template", "version", "incarnation", "generation", "volume", "passwd", "browserPasswd", "seed"]

        func token(_ key: String) -> String { "\(marker)\(key)-" }

        func fill(values: [String: String]) -> String {
            var xml = self.xml
            for key in Self.keys {
                xml = xml.replacingOccurrences(of: token(key), with: DesktopDomainXML.escaped(values[key] ?? ""))
            }
            return xml
        }
    }

    /// What a skeleton depends on: the pattern, the hardware (one per pool setting) and the
    /// host's settings, not the desktop.
    struct SkeletonKey: Hashable, Sendable {
        let template: TemplateDefinition
        let hardware: DesktopHardware
        let domainType: String
        let consoleListen: String
        let instance: String
        let templatePolicy: DomainXMLPolicy
        /// With an identity seed disk (its path is a token).
        let seeded: Bool
    }

    /// Skeletons by template, hardware and host settings (few: one per template version and
    /// pool hardware in use, and host kind); the cache starts over when it holds 64.
    private static let skeletons = Mutex<[SkeletonKey: Skeleton]>([:])

    static func skeleton(for xml: DesktopDomainXML) throws(DeskpoolError) -> Skeleton {
        let key = SkeletonKey(template: xml.template, hardware: xml.hardware, domainType: xml.domainType, consoleListen: xml.consoleListen,
                              instance: xml.instance, templatePolicy: xml.templatePolicy, seeded: xml.seedPath != nil)
        if let cached = skeletons.withLock({ $0[key] }) { return cached }
        // A DTD is refused before the edit parses the pattern (external entities, expansion).
        if let refusal = DomainXMLPolicy.declarationRefusal(xml.template.domainXML) {
            throw DeskpoolError(.invalidInput, "template \(xml.template.name): the domain XML is refused: \(refusal)", field: DomainXMLPolicy.field)
        }
        let marker = "dptoken" + ConsoleTicket.mint().secret + "-"
        let tokens = Dictionary(uniqueKeysWithValues: Skeleton.keys.map { ($0, "\(marker)\($0)-") })
        let skeleton = Skeleton(xml: try xml.edit(values: tokens), marker: marker)
        // Once per skeleton, after the edit has found a domain: a refused pattern is never
        // cached, so each attempt says why.
        if let refusal = xml.templatePolicy.refusal(xml.template.domainXML) {
            throw DeskpoolError(.invalidInput, "template \(xml.template.name): the domain XML is refused: \(refusal)", field: DomainXMLPolicy.field)
        }
        skeletons.withLock { cache in
            if cache.count >= 64 { cache.removeAll() }
            cache[key] = skeleton
        }
        return skeleton
    }

    /// Escapes text for XML content and attribute values (both quote kinds).
    static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            default: result.append(character)
            }
        }
        return result
    }
}
