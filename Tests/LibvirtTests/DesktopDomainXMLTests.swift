import DeskpoolCore
import DeskpoolLibvirt
import Foundation
import FoundationXML
import Testing

/// Rendering a desktop's domain XML from a template pattern (pure: no libvirt).
@Suite("Desktop domain XML")
struct DesktopDomainXMLTests {
    static let templatesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("templates").path

    static func identity(_ name: String = "eng-001") -> DesktopIdentity {
        DesktopIdentity(id: "3b1c-\(name)", name: name, pool: "engineering", template: "tiny-linux", version: 3, incarnation: 2, generation: 7)
    }

    static func render(_ identity: DesktopIdentity, pattern: String? = nil, path: String = "/var/lib/deskpool/images/dp-eng-001-2.qcow2",
                       hardware: DesktopHardware? = nil) throws -> String {
        var template = try TemplateDefinition.load(directory: templatesDirectory + "/tiny-linux")
        if let pattern { template.domainXML = pattern }
        template.memoryMiB = 384
        template.vcpus = 2
        template.machine = "q35"
        return try DesktopDomainXML(identity: identity, template: template, domainType: "kvm", volumePath: path, consoleListen: "10.0.0.5",
                                  hardware: hardware).render()
    }

    static func values(_ xpath: String, _ xml: String) throws -> [String] { try LibvirtXML.values(xpath, in: xml) }

    @Test("the tiny-linux template renders: type, name, memory, vCPUs, machine, SMBIOS, one disk, SPICE")
    func tinyLinux() throws {
        let xml = try Self.render(Self.identity())
        #expect(try Self.values("/domain/@type", xml) == ["kvm"])
        #expect(try Self.values("/domain/name", xml) == ["eng-001"])
        #expect(try Self.values("/domain/uuid", xml) == [])
        #expect(try Self.values("/domain/memory", xml) == ["384"])
        #expect(try Self.values("/domain/memory/@unit", xml) == ["MiB"])
        #expect(try Self.values("/domain/currentMemory", xml) == ["384"])
        #expect(try Self.values("/domain/vcpu", xml) == ["2"])
        #expect(try Self.values("/domain/os/type/@machine", xml) == ["q35"])
        #expect(try Self.values("/domain/os/smbios/@mode", xml) == ["sysinfo"])
        #expect(try Self.values("/domain/sysinfo[@type='smbios']/system/entry[@name='product']", xml) == ["eng-001"])
        #expect(try Self.values("/domain/sysinfo/system/entry[@name='manufacturer']", xml) == ["Deskpool"], "other entries stay")
        #expect(try Self.values("/domain/devices/disk/source/@file", xml) == ["/var/lib/deskpool/images/dp-eng-001-2.qcow2"])
        #expect(try Self.values("/domain/devices/disk/driver/@type", xml) == ["qcow2"])
        #expect(try Self.values("/domain/devices/disk/target/@dev", xml) == ["vda"])
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/@autoport", xml) == ["yes"])
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/listen/@address", xml) == ["10.0.0.5"])
        // The browser display: VNC on the same console address only, with a password (qemu
        // would start it without authentication otherwise).
        #expect(try Self.values("/domain/devices/graphics[@type='vnc']/listen/@address", xml) == ["10.0.0.5"])
        #expect(try Self.values("/domain/devices/graphics[@type='vnc']/@autoport", xml) == ["yes"])
        #expect(try Self.values("/domain/devices/graphics[@type='vnc']/@passwd", xml).first?.count == 8)
        let password = try #require(try Self.values("/domain/devices/graphics[@type='spice']/@passwd", xml).first)
        // A console ticket's form: 144 random bits as 24 base64url characters.
        #expect(password.count == 24 && password.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/@passwd", try Self.render(Self.identity())) != [password], "random per render")
        #expect(try Self.values("/domain/devices/channel/target/@name", xml) == ["org.qemu.guest_agent.0", "com.redhat.spice.0"])
    }

    @Test("the clone is the desktop's only disk; UUID, fixed ports and listen attributes are dropped")
    func disksReplaced() throws {
        let pattern = """
        <domain type='qemu'><name>golden</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
        <memory>1</memory><vcpu current='4'>8</vcpu><os><type>hvm</type></os>
        <devices>
          <graphics type='spice' port='5901' autoport='no' listen='0.0.0.0'><listen type='address' address='0.0.0.0'/></graphics>
        </devices></domain>
        """
        let xml = try Self.render(Self.identity(), pattern: pattern)
        #expect(try Self.values("/domain/devices/disk[@device='disk']/source/@file", xml) == ["/var/lib/deskpool/images/dp-eng-001-2.qcow2"])
        #expect(try Self.values("/domain/devices/disk/@device", xml) == ["disk"])
        #expect(try Self.values("/domain/uuid", xml) == [])
        #expect(try Self.values("/domain/vcpu/@current", xml) == [])
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/@port", xml) == [])
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/@listen", xml) == [])
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/listen/@address", xml) == ["10.0.0.5"])
        #expect(try Self.values("/domain/os/type/@machine", xml) == ["q35"])
    }

    @Test("an identity seed is a second virtio disk, raw and read-only, after the system disk")
    func seedDisk() throws {
        let template = try TemplateDefinition.load(directory: Self.templatesDirectory + "/tiny-linux")
        var xml = DesktopDomainXML(identity: Self.identity(), template: template, domainType: "qemu",
                                   volumePath: "/images/dp-eng-001-1.qcow2", consoleListen: "127.0.0.1")
        xml.seedPath = "/images/dp-eng-001-1.seed.img"
        let rendered = try xml.render()
        #expect(try Self.values("/domain/devices/disk/target/@dev", rendered) == ["vda", "vdb"])
        #expect(try Self.values("/domain/devices/disk[target/@dev='vdb']/source/@file", rendered) == ["/images/dp-eng-001-1.seed.img"])
        #expect(try Self.values("/domain/devices/disk[target/@dev='vdb']/driver/@type", rendered) == ["raw"])
        #expect(try Self.values("/domain/devices/disk[target/@dev='vdb']/readonly", rendered).count == 1)
        xml.seedPath = nil
        #expect(try Self.values("/domain/devices/disk/target/@dev", try xml.render()) == ["vda"], "no seed, no second disk (skeletons kept apart)")
    }

    @Test("a pattern without graphics, sysinfo or metadata gets them")
    func minimalPattern() throws {
        let xml = try Self.render(Self.identity(), pattern: "<domain type='kvm'><name>x</name><os><type>hvm</type></os><devices/></domain>")
        #expect(try Self.values("/domain/devices/graphics/@type", xml) == ["spice", "vnc"])
        #expect(try Self.values("/domain/sysinfo/system/entry[@name='product']", xml) == ["eng-001"])
        #expect(DesktopDomainXML.identity(fromDomainXML: xml) == Self.identity())
    }

    @Test("desktops get a pvpanic device and on_crash destroy, unless the pattern chose its own")
    func crashHandling() throws {
        let xml = try Self.render(Self.identity())
        #expect(try Self.values("/domain/devices/panic/@model", xml) == ["isa"])
        #expect(try Self.values("/domain/on_crash", xml) == ["destroy"])
        let own = try Self.render(Self.identity(), pattern: "<domain type='kvm'><name>x</name><os><type>hvm</type></os><on_crash>restart</on_crash><devices><panic model='hyperv'/></devices></domain>")
        #expect(try Self.values("/domain/devices/panic/@model", own) == ["hyperv"])
        #expect(try Self.values("/domain/on_crash", own) == ["restart"])
    }

    @Test("names with XML special characters are escaped, not injected")
    func escaping() throws {
        let hostile = #"a<b>&c"d'e</name><evil/>"#
        let xml = try Self.render(Self.identity(hostile), path: "/images/x&y'.qcow2")
        #expect(try Self.values("/domain/name", xml) == [hostile])
        #expect(try Self.values("//evil", xml) == [])
        #expect(try Self.values("/domain/sysinfo/system/entry[@name='product']", xml) == [hostile])
        #expect(try Self.values("/domain/devices/disk/source/@file", xml) == ["/images/x&y'.qcow2"])
        #expect(DesktopDomainXML.identity(fromDomainXML: xml)?.name == hostile)
    }

    @Test("metadata round-trips, from the element and from the whole domain")
    func metadata() throws {
        let identity = Self.identity()
        let xml = try Self.render(identity)
        #expect(DesktopDomainXML.identity(fromDomainXML: xml) == identity)
        let element = DesktopDomainXML.metadataElement(identity).xmlString
        #expect(element.contains(#"xmlns:deskpool="https://deskpool.dev/xmlns/desktop/1""#))
        #expect(DesktopDomainXML.identity(fromMetadata: element) == identity)
        // What libvirt hands back from virDomainGetMetadata: same element, its own formatting.
        let fromLibvirt = #"<deskpool:desktop xmlns:deskpool="https://deskpool.dev/xmlns/desktop/1" id="i" name="n" pool="p" template="t" version="1" incarnation="2" generation="3"/>"#
        #expect(DesktopDomainXML.identity(fromMetadata: fromLibvirt) == DesktopIdentity(id: "i", name: "n", pool: "p", template: "t", version: 1, incarnation: 2, generation: 3))
        #expect(DesktopDomainXML.identity(fromMetadata: "<other/>") == nil)
        #expect(DesktopDomainXML.identity(fromMetadata: #"<deskpool:desktop xmlns:deskpool="https://deskpool.dev/xmlns/desktop/1" id="i"/>"#) == nil)
        #expect(DesktopDomainXML.identity(fromDomainXML: "<domain><name>x</name></domain>") == nil)
    }

    @Test("a stored pattern the domain XML policy refuses does not render: the desktop fails with the reason")
    func refusedPattern() throws {
        let hostile = [
            "<domain><devices><disk type='file' device='cdrom'><source file='/etc/shadow'/><target dev='hdc'/></disk></devices></domain>",
            "<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><qemu:commandline><qemu:arg value='-x'/></qemu:commandline></domain>",
        ]
        for (pattern, path) in zip(hostile, ["/domain/devices/disk", "/domain/qemu:commandline"]) {
            let error = #expect(throws: DeskpoolError.self) { _ = try Self.render(Self.identity(), pattern: pattern) }
            #expect(error?.code == .invalidInput)
            #expect(error?.field == "domainXML")
            #expect(error?.message.contains("the domain XML is refused: \(path): ") == true, "\(error?.message ?? "")")
        }
        // A host's extra is honoured when rendering too.
        let usb = "<domain><devices><hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/><product id='0x2'/></source></hostdev></devices></domain>"
        #expect(throws: DeskpoolError.self) { _ = try Self.render(Self.identity(), pattern: usb) }
        var template = try TemplateDefinition.load(directory: Self.templatesDirectory + "/tiny-linux")
        template.domainXML = usb
        let xml = try DesktopDomainXML(identity: Self.identity(), template: template, domainType: "kvm", volumePath: "/x.qcow2", consoleListen: "127.0.0.1",
                                       templatePolicy: DomainXMLPolicy(allowedExtras: [.usbHostdev])).render()
        #expect(try Self.values("/domain/devices/hostdev/@type", xml) == ["usb"])
    }

    @Test("a pattern that is not a domain is refused as invalid input")
    func badPattern() {
        for pattern in ["<domain", "<domain><name>x</name>", "<domain><devices></domain>", "<pool/>", ""] {
            let error = #expect(throws: DeskpoolError.self, "\(pattern)") { _ = try Self.render(Self.identity(), pattern: pattern) }
            #expect(error?.code == .invalidInput)
            #expect(error?.field == "domain")
        }
    }

    @Test("desktops of one template share the edited pattern but get their own name, disk, metadata and password")
    func perDesktopValues() throws {
        let first = try Self.render(Self.identity("eng-001"), path: "/images/dp-eng-001-1.qcow2")
        let second = try Self.render(Self.identity("eng-002"), path: "/images/dp-eng-002-1.qcow2")
        #expect(try Self.values("/domain/name", second) == ["eng-002"])
        #expect(try Self.values("/domain/devices/disk/source/@file", second) == ["/images/dp-eng-002-1.qcow2"])
        #expect(try Self.values("/domain/sysinfo/system/entry[@name='product']", second) == ["eng-002"])
        let passwords = try Self.values("/domain/devices/graphics[@type='spice']/@passwd", first) + Self.values("/domain/devices/graphics[@type='spice']/@passwd", second)
        #expect(passwords.count == 2 && passwords[0] != passwords[1] && passwords.allSatisfy { $0.count == 24 })
        let browser = try Self.values("/domain/devices/graphics[@type='vnc']/@passwd", first) + Self.values("/domain/devices/graphics[@type='vnc']/@passwd", second)
        #expect(browser.count == 2 && browser[0] != browser[1] && browser.allSatisfy { $0.count == 8 }, "each desktop its own browser display password")
        #expect(!first.contains("dptoken") && !second.contains("dptoken"))
        // A pattern that happens to contain the word "dptoken" keeps it.
        let pattern = "<domain type='kvm'><name>x</name><description>dptoken-name-</description><devices/></domain>"
        let xml = try Self.render(Self.identity("eng-003"), pattern: pattern)
        #expect(try Self.values("/domain/description", xml) == ["dptoken-name-"])
    }
}
