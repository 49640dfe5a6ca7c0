/// What templates may carry on this broker's hosts (`templates:` in deskpool.yaml). Only the
/// host's configuration can widen what a template's domain XML may hold; the API never can
/// (`DomainXMLPolicy`).
public struct TemplatesConfiguration: Sendable, Hashable, Decodable {
    /// Named host-level extras templates may use: `usbHostdev` (a host USB device),
    /// `pciHostdev` (a host PCI device through vfio), `bridgeInterface` (a host bridge),
    /// `userInterface` (qemu's user networking, which reaches the host's loopback).
    /// Default none. qemu's command line, `<seclabel type='none'>` or another emulator are
    /// never allowed.
    public var allowedExtras: Set<DomainXMLPolicy.Extra> = []

    public init(allowedExtras: Set<DomainXMLPolicy.Extra> = []) {
        self.allowedExtras = allowedExtras
    }

    /// The policy template domain XML is checked with.
    public var domainXMLPolicy: DomainXMLPolicy { DomainXMLPolicy(allowedExtras: allowedExtras) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case allowedExtras
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "templates")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard let names = try c.decodeIfPresent([String].self, forKey: .allowedExtras) else { return }
        let known = DomainXMLPolicy.Extra.allCases.map(\.rawValue)
        for name in names {
            guard let extra = DomainXMLPolicy.Extra(rawValue: name) else {
                throw try c.superDecoder(forKey: .allowedExtras)
                    .invalid("templates.allowedExtras: '\(name)' is not a known extra (known: \(known.joined(separator: ", ")))")
            }
            allowedExtras.insert(extra)
        }
    }
}
