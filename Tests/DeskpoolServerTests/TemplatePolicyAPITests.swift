import DeskpoolCore
import DeskpoolServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// An admin cannot reach the hosts through a template: a hostile domain XML is a 400 naming
/// the element, and nothing is stored.
@Suite("API: template domain XML policy")
struct TemplatePolicyAPITests {
    @Test("PUT of a hostile template: 400 with field domainXML and the element; the template is neither created nor changed")
    func hostileTemplate() async throws {
        let rig = try await ServerTestRig()
        try await rig.test { client in
            let root = try await client.login("root")
            let hostile: [(String, String)] = [
                ("<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>x</name><qemu:commandline><qemu:arg value='-x'/></qemu:commandline></domain>",
                 "/domain/qemu:commandline"),
                ("<domain><devices><hostdev mode='subsystem' type='pci'><source><address bus='1'/></source></hostdev></devices></domain>",
                 "/domain/devices/hostdev: passes a host device to the guest"),
                ("<domain><devices><disk type='file' device='disk'><source file='/etc/shadow'/></disk></devices></domain>", "/domain/devices/disk"),
                ("<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/shadow'>]><domain><name>&x;</name></domain>", "<!DOCTYPE>"),
            ]
            for (name, existing) in [("evil", false), ("tiny", true)] {
                for (xml, mention) in hostile {
                    let response = try await client.call(.put, "/api/v1/admin/templates/\(name)", root.bearer, json: TemplateInput(domainXML: xml))
                    #expect(response.status == .badRequest, "\(mention)")
                    let detail = try JSONDecoder().decode(APIErrorBody.self, from: response.body).error
                    #expect(detail.field == "domainXML")
                    #expect(detail.message.contains(mention), "\(detail.message)")
                    #expect(try await rig.harness.store.template(named: name)?.domainXML == (existing ? ServerTestRig.template.domainXML : nil))
                }
            }
            #expect(try await rig.harness.store.templates().map(\.name) == ["tiny"])
            // Within a desktop's needs: accepted.
            let good = "<domain type='kvm'><name>x</name><devices><interface type='network'><source network='default'/></interface></devices></domain>"
            #expect(try await client.call(.put, "/api/v1/admin/templates/good", root.bearer, json: TemplateInput(domainXML: good)).status == .ok)
        }
    }
}
