import Foundation

/// A golden template: a domain XML pattern plus defaults. Loaded from
/// `templates/NAME/template.yaml`, which names the domain XML file next to it.
///
/// The domain XML is a pattern: Deskpool replaces its name, memory, vCPUs, disks, SMBIOS
/// product, metadata and SPICE password for each desktop, and keeps every other device.
public struct TemplateDefinition: Sendable, Hashable, Codable {
    public var name: String
    /// Virtual CPUs of each desktop.
    public var vcpus: Int = 2
    /// Memory of each desktop, MiB.
    public var memoryMiB: Int = 2048
    /// The machine type (`pc`, `q35`).
    public var machine: String = "pc"
    /// Seconds a desktop may take from start until its guest agent answers; past that it is
    /// failed with "guest did not become ready". TCG guests need more than KVM ones.
    public var bootTimeoutSeconds: Int = 300
    /// The domain XML pattern (the file's text).
    public var domainXML: String
    /// How the image takes each desktop's identity (nil: only the SMBIOS product name).
    public var identity: TemplateIdentity?

    public init(name: String, vcpus: Int = 2, memoryMiB: Int = 2048, machine: String = "pc", bootTimeoutSeconds: Int = 300, domainXML: String,
                identity: TemplateIdentity? = nil) {
        self.name = name
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.machine = machine
        self.bootTimeoutSeconds = bootTimeoutSeconds
        self.domainXML = domainXML
        self.identity = identity
    }

    /// Reads `DIRECTORY/template.yaml` and the domain XML it names. The template's name is the
    /// directory's name. Every problem is a `ConfigurationError` naming the file, line and field.
    /// With `policy`, the domain XML must pass it (the error names the XML file, the element
    /// and the reason); without, the broker checks it when the template is applied.
    public static func load(directory: String, policy: DomainXMLPolicy? = nil) throws(ConfigurationError) -> TemplateDefinition {
        let url = URL(fileURLWithPath: directory)
        let name = url.lastPathComponent
        let file = url.appendingPathComponent("template.yaml").path
        guard DeskpoolConfiguration.isSafeName(name) else {
            throw ConfigurationError(code: .invalidValue, file: file, message: "name: the template directory name '\(name)' must be letters, digits, '.', '_' or '-' (at most 64)")
        }
        let settings = try YAMLConfigDecoder.decode(TemplateFile.self, file: file)
        guard !settings.domain.contains("/") else {
            throw ConfigurationError(code: .invalidValue, file: file, message: "domain: must be a file name in the template's directory, not a path")
        }
        let xmlPath = url.appendingPathComponent(settings.domain).path
        let xml: String
        do {
            xml = try String(contentsOfFile: xmlPath, encoding: .utf8)
        } catch {
            throw ConfigurationError(code: .unreadable, file: xmlPath, message: "domain: cannot read the domain XML: \(error.localizedDescription)")
        }
        if let policy, let refusal = policy.refusal(xml) {
            throw ConfigurationError(code: .invalidValue, file: xmlPath, message: refusal)
        }
        return TemplateDefinition(name: name, vcpus: settings.vcpus, memoryMiB: settings.memoryMiB, machine: settings.machine,
                                  bootTimeoutSeconds: settings.bootTimeoutSeconds, domainXML: xml, identity: settings.identity)
    }
}

/// The keys of `template.yaml`.
struct TemplateFile: Decodable {
    var vcpus = 2
    var memoryMiB = 2048
    var machine = "pc"
    var bootTimeoutSeconds = 300
    var domain = "domain.xml"
    var identity: TemplateIdentity?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case vcpus, memoryMiB, machine, bootTimeoutSeconds, domain, identity
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "template.yaml")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vcpus = try c.decodeBounded(.vcpus, 1...256) ?? vcpus
        memoryMiB = try c.decodeBounded(.memoryMiB, 64...(4 << 20)) ?? memoryMiB
        bootTimeoutSeconds = try c.decodeBounded(.bootTimeoutSeconds, 5...3600) ?? bootTimeoutSeconds
        if let machine = try c.decodeIfPresent(String.self, forKey: .machine) {
            guard DeskpoolConfiguration.isSafeName(machine) else {
                throw try c.superDecoder(forKey: .machine).invalid("machine must be a machine type such as pc or q35")
            }
            self.machine = machine
        }
        domain = try c.decodeIfPresent(String.self, forKey: .domain) ?? domain
        identity = try c.decodeIfPresent(TemplateIdentity.self, forKey: .identity)
    }
}

extension KeyedDecodingContainer {
    /// An optional integer that must lie in `range`; the error names the key.
    func decodeBounded(_ key: Key, _ range: ClosedRange<Int>) throws -> Int? {
        guard let value = try decodeIfPresent(Int.self, forKey: key) else { return nil }
        guard range.contains(value) else {
            throw try superDecoder(forKey: key).invalid("\(key.stringValue) must be between \(range.lowerBound) and \(range.upperBound), not \(value)")
        }
        return value
    }
}
