import DeskpoolCore
import Foundation

struct TemplatesContent {
    struct Template {
        var templateName: String
        var vcpus: Int
        var memoryMiB: Int
        var machine: String
        var bootTimeoutSeconds: Int
        var versions: [Version]
        var hasVersions: Bool
    }

    struct Version {
        var number: Int
        var note: String
        var created: Stamp
        var createdBy: String
        var published: Bool
    }

    var templates: [Template]

    init(_ templates: [TemplateView]) {
        self.templates = templates.map { t in
            let versions = t.versions.reversed().map { v in
                Version(number: v.number, note: v.note, created: Stamp(v.createdAt), createdBy: v.createdBy, published: v.published)
            }
            return Template(templateName: t.name, vcpus: t.vcpus, memoryMiB: t.memoryMiB, machine: t.machine,
                            bootTimeoutSeconds: t.bootTimeoutSeconds, versions: versions, hasVersions: !versions.isEmpty)
        }
    }
}
