import Foundation

/// A template with its versions, as admins see it (the domain XML is left out of lists).
public struct TemplateView: Sendable, Hashable, Codable {
    public var name: String
    public var vcpus: Int
    public var memoryMiB: Int
    public var machine: String
    public var bootTimeoutSeconds: Int
    public var identity: TemplateIdentity?
    public var versions: [TemplateVersion]
    public init(_ template: TemplateDefinition, versions: [TemplateVersion]) {
        name = template.name
        vcpus = template.vcpus
        memoryMiB = template.memoryMiB
        machine = template.machine
        bootTimeoutSeconds = template.bootTimeoutSeconds
        identity = template.identity
        self.versions = versions
    }
}

/// `PUT /api/v1/admin/templates/{name}`: a template definition (the keys of `template.yaml`,
/// with the domain XML's text).
public struct TemplateInput: Sendable, Hashable, Codable {
    public var vcpus: Int?
    public var memoryMiB: Int?
    public var machine: String?
    public var bootTimeoutSeconds: Int?
    public var domainXML: String
    public var identity: TemplateIdentity?
    public init(vcpus: Int? = nil, memoryMiB: Int? = nil, machine: String? = nil, bootTimeoutSeconds: Int? = nil, domainXML: String,
                identity: TemplateIdentity? = nil) {
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.machine = machine
        self.bootTimeoutSeconds = bootTimeoutSeconds
        self.domainXML = domainXML
        self.identity = identity
    }

    public init(_ template: TemplateDefinition) {
        self.init(vcpus: template.vcpus, memoryMiB: template.memoryMiB, machine: template.machine,
                  bootTimeoutSeconds: template.bootTimeoutSeconds, domainXML: template.domainXML, identity: template.identity)
    }
}

/// `POST /api/v1/admin/templates/{name}/versions` (JSON): publish the next version from a
/// file in the broker's import directory (`importFile`) or a volume of the storage pool
/// (`volume`); exactly one of them. An upload is the other form of the same request (the
/// image as an `application/octet-stream` body, the note in `?note=`). `imagePath` is no
/// longer accepted (400): an admin may not name files on the broker's host.
public struct PublishRequest: Sendable, Hashable, Codable {
    public var importFile: String?
    public var volume: String?
    public var note: String
    /// Refused; decoded only to say what to use instead.
    public var imagePath: String?

    public init(importFile: String? = nil, volume: String? = nil, note: String) {
        self.importFile = importFile
        self.volume = volume
        self.note = note
    }

    public init(imagePath: String, note: String) {
        self.imagePath = imagePath
        self.note = note
    }
}
