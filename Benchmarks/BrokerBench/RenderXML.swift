import BenchSupport
import DeskpoolCore
import DeskpoolLibvirt

/// Prints the domain XML Deskpool defines for a desktop named `--name` on `--volume`.
func renderXML(_ arguments: Arguments) throws {
    let template = try TemplateDefinition.load(directory: arguments.string("template"))
    let name = arguments.string("name")
    let identity = DesktopIdentity(id: "00000000-0000-0000-0000-000000000000", name: name, pool: "bench-floor",
                                   template: template.name, version: 1, incarnation: 1, generation: 1)
    let xml = try DesktopDomainXML(identity: identity, template: template, domainType: arguments.string("domain-type", "qemu"),
                                   volumePath: arguments.string("volume"), consoleListen: "127.0.0.1",
                                   instance: arguments.string("instance", "bench-floor")).render()
    print(xml)
}
