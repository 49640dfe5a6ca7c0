public import DeskpoolCore
public import Foundation
import FoundationXML

/// Reads the facts checks need from one domain XML (persistent or live), in one pass of
/// `XMLParser` (libxml2's SAX interface): unlike `XMLDocument` it does not leak on Linux, and
/// it is fast enough to read two definitions of each of thousands of desktops per check.
///
/// The console password is never kept: the parser notes only whether the `passwd` attribute
/// is there. Pure (no libvirt), so it is tested with XML strings.
public enum DomainFactsParser {
    /// What one definition says.
    public struct Result: Sendable, Hashable {
        public var facts: DefinitionFacts
        /// Deskpool's metadata, nil when the domain has none.
        public var identity: DesktopIdentity?
        /// The broker installation in the metadata (nil: none written).
        public var instance: String?
    }

    /// The facts of `xml`; nil when it is not a domain XML.
    public static func parse(_ xml: String) -> Result? {
        let reader = Reader()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.shouldProcessNamespaces = true
        parser.delegate = reader
        // swift-corelibs' parse() can return true for broken XML: its parserError tells.
        guard parser.parse(), parser.parserError == nil, reader.isDomain else { return nil }
        return reader.result
    }

    // MARK: - One parse

    /// The SAX delegate of one parse: keeps only what the facts need.
    private final class Reader: NSObject, XMLParserDelegate {
        private var stack: [String] = []
        private var text = ""
        var isDomain = false
        private var memoryKiB: Int?
        private var currentMemoryKiB: Int?
        private var vcpus = 1
        private var vcpuCurrent: Int?
        private var qxlHeads: Int?
        private var sound = false
        private var redirdev = false
        private var smartcard = false
        private var spicevmcChannel = false
        private var channels: [String] = []
        private var disks: [String] = []
        /// Whether the `<disk>` being read is a disk (not a CD-ROM).
        private var inDisk = false
        private var inChannel = false
        private var spice: Spice?
        private var inSpice = false
        private var metadata: [String: String]?

        private struct Spice {
            var passwordSet: Bool
            var validTo: Date?
            var tlsRequired: Bool
            var listen: String?
            var clipboard = true
            var streaming = DesktopHardware.Streaming.filter
            var compression = DesktopHardware.Compression.autoGLZ
        }

        var result: Result {
            let maxKiB = memoryKiB ?? currentMemoryKiB ?? 0
            let currentKiB = currentMemoryKiB ?? maxKiB
            let count = vcpuCurrent ?? vcpus
            let hardware = DesktopHardware(
                vcpus: count, memoryMiB: maxKiB / 1024, monitors: qxlHeads ?? 0, audio: sound,
                clipboard: (spice?.clipboard ?? false) && spicevmcChannel,
                streaming: spice?.streaming ?? .filter, compression: spice?.compression ?? .autoGLZ,
                usbRedirection: redirdev, smartcard: smartcard)
            let console = spice.map {
                ConsoleFacts(passwordSet: $0.passwordSet, passwordValidTo: $0.validTo, tlsRequired: $0.tlsRequired, listenAddress: $0.listen)
            }
            let facts = DefinitionFacts(memoryMiB: currentKiB / 1024, maxMemoryMiB: maxKiB / 1024, vcpus: count, hardware: hardware,
                                        channels: channels, disks: disks, console: console)
            return Result(facts: facts, identity: metadata.flatMap(Self.identity(from:)), instance: metadata?["instance"])
        }

        private static func identity(from attributes: [String: String]) -> DesktopIdentity? {
            func number(_ name: String) -> Int? { attributes[name].flatMap { Int($0) } }
            guard let id = attributes["id"], let name = attributes["name"], let pool = attributes["pool"],
                  let template = attributes["template"], let version = number("version"),
                  let incarnation = number("incarnation"), let generation = number("generation") else { return nil }
            return DesktopIdentity(id: id, name: name, pool: pool, template: template, version: version,
                                   incarnation: incarnation, generation: generation)
        }

        // MARK: - XMLParserDelegate

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                           attributes: [String: String] = [:]) {
            stack.append(elementName)
            text = ""
            switch stack.count {
            case 1:
                isDomain = elementName == "domain" && (namespaceURI ?? "").isEmpty
            case 2:
                if elementName == "vcpu" { vcpuCurrent = attributes["current"].flatMap { Int($0) } }
                unit = attributes["unit"]
            case 3 where stack[1] == "metadata":
                if namespaceURI == DesktopDomainXML.namespace, elementName == "desktop", metadata == nil { metadata = attributes }
            case 3 where stack[1] == "devices":
                startDevice(elementName, attributes)
            case 4 where stack[1] == "devices":
                startDeviceChild(elementName, attributes)
            default:
                break
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if stack.count == 2 { text += string }
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            if stack.count == 2 {
                let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
                switch elementName {
                case "memory": memoryKiB = DomainFactsParser.kibibytes(value, unit: unit)
                case "currentMemory": currentMemoryKiB = DomainFactsParser.kibibytes(value, unit: unit)
                case "vcpu": vcpus = Int(value) ?? vcpus
                default: break
                }
            }
            if stack.count == 3, stack[1] == "devices" {
                switch elementName {
                case "disk": inDisk = false
                case "channel": inChannel = false
                case "graphics": inSpice = false
                default: break
                }
            }
            stack.removeLast()
        }

        private var unit: String?

        private func startDevice(_ name: String, _ attributes: [String: String]) {
            switch name {
            case "disk": inDisk = (attributes["device"] ?? "disk") == "disk"
            case "channel":
                inChannel = true
                if attributes["type"] == "spicevmc" { spicevmcChannel = true }
            case "sound": sound = true
            case "redirdev": redirdev = true
            case "smartcard": smartcard = true
            case "graphics" where attributes["type"] == "spice" && spice == nil:
                inSpice = true
                // Only whether a password is set: its text is never kept.
                spice = Spice(passwordSet: !(attributes["passwd"] ?? "").isEmpty,
                              validTo: attributes["passwdValidTo"].flatMap(DomainFactsParser.utcDate),
                              tlsRequired: attributes["defaultMode"] == "secure", listen: attributes["listen"])
            default: break
            }
        }

        private func startDeviceChild(_ name: String, _ attributes: [String: String]) {
            switch (stack[2], name) {
            case ("disk", "source") where inDisk:
                if let path = attributes["file"] ?? attributes["dev"] { disks.append(path) }
            case ("channel", "target") where inChannel:
                if let target = attributes["name"] { channels.append(target) }
            case ("video", "model") where attributes["type"] == "qxl" && qxlHeads == nil:
                qxlHeads = attributes["heads"].flatMap { Int($0) } ?? 1
            case ("graphics", _) where inSpice:
                switch name {
                case "listen":
                    if spice?.listen == nil, let address = attributes["address"] { spice?.listen = address }
                case "clipboard": spice?.clipboard = attributes["copypaste"] != "no"
                case "streaming": spice?.streaming = attributes["mode"].flatMap(DesktopHardware.Streaming.init(rawValue:)) ?? .filter
                case "image": spice?.compression = attributes["compression"].flatMap(DesktopHardware.Compression.init(rawValue:)) ?? .autoGLZ
                default: break
                }
            default: break
            }
        }

    }

    // MARK: - Values

    /// A libvirt memory size in KiB (`unit` as libvirt takes it; KiB without one).
    public static func kibibytes(_ value: String, unit: String?) -> Int? {
        guard let number = UInt64(value) else { return nil }
        let bytesPerUnit: UInt64
        switch unit ?? "KiB" {
        case "b", "bytes": bytesPerUnit = 1
        case "KB": bytesPerUnit = 1000
        case "k", "KiB": bytesPerUnit = 1 << 10
        case "MB": bytesPerUnit = 1_000_000
        case "M", "MiB": bytesPerUnit = 1 << 20
        case "GB": bytesPerUnit = 1_000_000_000
        case "G", "GiB": bytesPerUnit = 1 << 30
        case "TB": bytesPerUnit = 1_000_000_000_000
        case "T", "TiB": bytesPerUnit = 1 << 40
        default: return nil
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: bytesPerUnit)
        return overflow ? nil : Int(clamping: bytes / 1024)
    }

    /// libvirt's `passwdValidTo`: "YYYY-MM-DDTHH:MM:SS", UTC.
    public static func utcDate(_ text: String) -> Date? {
        let parts = text.split(whereSeparator: { "-T:".contains($0) }).map { Int($0) }
        guard parts.count == 6, !parts.contains(nil), text.count == 19 else { return nil }
        var components = DateComponents()
        (components.year, components.month, components.day) = (parts[0], parts[1], parts[2])
        (components.hour, components.minute, components.second) = (parts[3], parts[4], parts[5])
        return Self.utcCalendar.date(from: components)
    }

    private static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
