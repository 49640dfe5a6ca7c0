import DeskpoolCore
import Foundation
import Testing

/// Template domain XML within a desktop's needs: every known way to the host is refused with
/// the element's path; the shipped and test templates pass.
@Suite("Domain XML policy")
struct DomainXMLPolicyTests {
    /// `devices` inside a minimal domain.
    static func domain(_ devices: String, top: String = "", attributes: String = "") -> String {
        "<domain type='kvm'\(attributes)><name>t</name>\(top)<devices>\(devices)</devices></domain>"
    }

    /// One escape per row: the pattern and the path (and a word of the reason) it is refused with.
    static let escapes: [(String, String, String, String)] = [
        ("DOCTYPE with an external entity",
         "<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/shadow'>]><domain><name>&x;</name></domain>", "<!DOCTYPE>", "entity"),
        ("billion laughs",
         "<!DOCTYPE d [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>]><domain><name>&c;</name></domain>",
         "<!DOCTYPE>", "expand"),
        ("an entity declaration in lower case", "<!doctype domain><domain/>", "<!DOCTYPE>", "declarations"),
        ("qemu:commandline",
         "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>t</name><qemu:commandline><qemu:arg value='-chardev'/></qemu:commandline></domain>",
         "/domain/qemu:commandline", "qemu on the host"),
        ("qemu's namespace under another prefix",
         "<domain xmlns:x='http://libvirt.org/schemas/domain/qemu/1.0'><x:commandline/></domain>", "/domain/x:commandline", "qemu on the host"),
        ("qemu's namespace as the default namespace",
         "<domain><commandline xmlns='http://libvirt.org/schemas/domain/qemu/1.0'><arg value='-x'/></commandline></domain>",
         "/domain/commandline", "qemu on the host"),
        ("another namespace", "<domain><x:y xmlns:x='urn:x'/></domain>", "/domain/x:y", "another XML namespace"),
        ("hostdev pci",
         domain("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>"),
         "/domain/devices/hostdev", "host device"),
        ("hostdev usb",
         domain("<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/><product id='0x5678'/></source></hostdev>"),
         "/domain/devices/hostdev", "host device"),
        ("filesystem", domain("<filesystem type='mount'><source dir='/'/><target dir='host'/></filesystem>"),
         "/domain/devices/filesystem", "host directory"),
        ("disk on /etc/shadow", domain("<disk type='file' device='disk'><source file='/etc/shadow'/><target dev='vdb'/></disk>"),
         "/domain/devices/disk", "host file"),
        ("cdrom", domain("<disk type='file' device='cdrom'><source file='/root/secret.iso'/><target dev='hdc'/></disk>"),
         "/domain/devices/disk", "CD-ROM"),
        ("serial to a file", domain("<serial type='file'><source path='/etc/cron.d/x'/><target port='0'/></serial>"),
         "/domain/devices/serial", "only pty"),
        ("serial to a device", domain("<serial type='dev'><source path='/dev/sda'/></serial>"), "/domain/devices/serial", "only pty"),
        ("serial over tcp", domain("<serial type='tcp'><source mode='bind' host='0.0.0.0' service='2445'/></serial>"),
         "/domain/devices/serial", "only pty"),
        ("a pty serial logging to a host file", domain("<serial type='pty'><log file='/etc/passwd'/></serial>"),
         "/domain/devices/serial/log", "host file"),
        ("channel unix with a host path",
         domain("<channel type='unix'><source mode='bind' path='/run/evil.sock'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"),
         "/domain/devices/channel/source", "host socket"),
        ("unix channel that is not the agent", domain("<channel type='unix'><target type='virtio' name='org.example.x'/></channel>"),
         "/domain/devices/channel/target", "guest agent only"),
        ("console to a pipe", domain("<console type='pipe'><source path='/tmp/p'/></console>"), "/domain/devices/console", "only pty"),
        ("parallel port", domain("<parallel type='pty'/>"), "/domain/devices/parallel", "host"),
        ("interface direct", domain("<interface type='direct'><source dev='eth0' mode='bridge'/></interface>"),
         "/domain/devices/interface", "macvtap"),
        ("interface hostdev", domain("<interface type='hostdev'><source><address type='pci' bus='2'/></source></interface>"),
         "/domain/devices/interface", "host network device"),
        ("interface bridge without the extra", domain("<interface type='bridge'><source bridge='br0'/></interface>"),
         "/domain/devices/interface", "bridgeInterface"),
        ("interface user (the host's loopback at 10.0.2.2)", domain("<interface type='user'><model type='virtio'/></interface>"),
         "/domain/devices/interface", "userInterface"),
        ("a watchdog that dumps guest memory", domain("<watchdog model='i6300esb' action='dump'/>"), "/domain/devices/watchdog", "host directory"),
        ("a crash that dumps guest memory", domain("", top: "<on_crash>coredump-destroy</on_crash>"), "/domain/on_crash", "host directory"),
        ("interface ethernet", domain("<interface type='ethernet'><script path='/tmp/x'/></interface>"), "/domain/devices/interface", "tap"),
        ("interface script", domain("<interface type='network'><source network='default'/><script path='/tmp/x'/></interface>"),
         "/domain/devices/interface/script", "host script"),
        ("seclabel none", domain("", top: "<seclabel type='none'/>"), "/domain/seclabel", "confinement"),
        ("seclabel without relabelling", domain("", top: "<seclabel type='dynamic' model='selinux' relabel='no'/>"), "/domain/seclabel", "relabel"),
        ("os kernel", domain("", top: "<os><type>hvm</type><kernel>/boot/vmlinuz</kernel></os>"), "/domain/os/kernel", "direct kernel boot"),
        ("os loader path", domain("", top: "<os><type>hvm</type><loader readonly='yes' type='pflash'>/etc/shadow</loader></os>"),
         "/domain/os/loader", "firmware='efi'"),
        ("os nvram", domain("", top: "<os firmware='efi'><nvram>/root/x.fd</nvram></os>"), "/domain/os/nvram", "host file"),
        ("emulator", domain("<emulator>/bin/sh</emulator>"), "/domain/devices/emulator", "host program"),
        ("shmem", domain("<shmem name='x'/>"), "/domain/devices/shmem", "host memory"),
        ("memory backed by a host file", domain("", top: "<memoryBacking><source type='file'/></memoryBacking>"),
         "/domain/memoryBacking/source", "host file"),
        ("rng on a host device", domain("<rng model='virtio'><backend model='random'>/dev/sda</backend></rng>"),
         "/domain/devices/rng/backend", "/dev/urandom"),
        ("rng over a socket", domain("<rng model='virtio'><backend model='egd' type='tcp'/></rng>"), "/domain/devices/rng/backend", "random"),
        ("fw_cfg sysinfo from a host file", "<domain><sysinfo type='fwcfg'><entry name='opt/x' file='/etc/shadow'/></sysinfo></domain>",
         "/domain/sysinfo", "host files"),
        ("smartcard on the host's reader", domain("<smartcard mode='host'/>"), "/domain/devices/smartcard", "smartcard reader"),
        ("USB redirection over tcp", domain("<redirdev bus='usb' type='tcp'><source mode='connect' host='h' service='1'/></redirdev>"),
         "/domain/devices/redirdev", "spicevmc"),
        ("host input device", domain("<input type='evdev'><source dev='/dev/input/event0'/></input>"), "/domain/devices/input", "host input"),
        ("the host's TPM", domain("<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>"),
         "/domain/devices/tpm/backend", "host's TPM"),
        ("vsock", domain("<vsock model='virtio'><cid auto='yes'/></vsock>"), "/domain/devices/vsock", "socket"),
        ("VNC", domain("<graphics type='vnc' port='5900'/>"), "/domain/devices/graphics", "SPICE"),
        ("an unknown element", domain("<crypto model='virtio'/>"), "/domain/devices/crypto", "allowlist"),
        ("a host path on an allowed element", domain("<graphics type='spice'><gl enable='yes' rendernode='/dev/dri/renderD128'/></graphics>"),
         "/domain/devices/graphics/gl", "GPU"),
        ("Deskpool's namespace outside <metadata>",
         "<domain><deskpool:desktop xmlns:deskpool='https://deskpool.dev/xmlns/desktop/1'/></domain>", "/domain/deskpool:desktop", "inside <metadata>"),
        ("other metadata", "<domain><metadata><app:x xmlns:app='urn:app'/></metadata></domain>", "/domain/metadata/app:x", "another XML namespace"),
        ("not well-formed", "<domain><name>x</domain>", "/", "well-formed"),
        ("another root", "<pool/>", "/pool", "root element"),
    ]

    @Test("each way to the host is refused with its path", arguments: escapes)
    func escape(_ row: (String, String, String, String)) {
        let (name, xml, path, reason) = row
        let refusal = DomainXMLPolicy().refusal(xml)
        #expect(refusal?.hasPrefix("\(path): ") == true, "\(name): \(refusal ?? "accepted")")
        #expect(refusal?.contains(reason) == true, "\(name): \(refusal ?? "accepted")")
    }

    @Test("check throws invalidInput with the field domainXML")
    func error() {
        let error = #expect(throws: DeskpoolError.self) { try DomainXMLPolicy().check(Self.domain("<hostdev type='usb'/>")) }
        #expect(error?.code == .invalidInput)
        #expect(error?.field == "domainXML")
        #expect(error?.message.hasPrefix("/domain/devices/hostdev: passes a host device to the guest") == true)
    }

    @Test("the shipped template, the test patterns and a full desktop are accepted")
    func accepted() throws {
        let repository = DefinitionFileTests.repository
        let tiny = try TemplateDefinition.load(directory: repository.appendingPathComponent("templates/tiny-linux").path)
        var patterns = [tiny.domainXML, "<domain/>", "<domain type='kvm'><name>x</name></domain>"]
        patterns.append("""
            <domain type='kvm' id='4'>
              <name>win11</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><description>Windows 11 desktop</description>
              <metadata><deskpool:desktop xmlns:deskpool='https://deskpool.dev/xmlns/desktop/1' id='a' name='b'/></metadata>
              <memory unit='GiB'>4</memory><currentMemory unit='GiB'>4</currentMemory><vcpu placement='static'>2</vcpu>
              <os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><firmware><feature enabled='yes' name='secure-boot'/></firmware>
                <boot dev='hd'/><smbios mode='sysinfo'/></os>
              <features><acpi/><apic/><smm state='on'/><hyperv mode='custom'><relaxed state='on'/><spinlocks state='on' retries='8191'/></hyperv></features>
              <cpu mode='host-passthrough' check='none' migratable='on'><topology sockets='1' dies='1' cores='2' threads='1'/></cpu>
              <clock offset='localtime'><timer name='rtc' tickpolicy='catchup'/><timer name='hpet' present='no'/></clock>
              <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
              <pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>
              <seclabel type='dynamic' model='selinux' relabel='yes'/>
              <devices>
                <controller type='usb' index='0' model='qemu-xhci' ports='15'><address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></controller>
                <controller type='pci' index='0' model='pcie-root'/><controller type='virtio-serial' index='0'/>
                <interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='default'/><model type='virtio'/>
                  <filterref filter='clean-traffic'/></interface>
                <serial type='pty'><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>
                <console type='pty'><target type='serial' port='0'/></console>
                <channel type='unix'><source mode='bind'/><target type='virtio' name='org.qemu.guest_agent.0'/><address type='virtio-serial' controller='0' bus='0' port='1'/></channel>
                <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>
                <input type='tablet' bus='usb'/><input type='keyboard' bus='ps2'/>
                <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
                <graphics type='spice' autoport='yes'><listen type='address' address='127.0.0.1'/><image compression='off'/></graphics>
                <sound model='ich9'><audio id='1'/></sound><audio id='1' type='spice'/>
                <video><model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='1' primary='yes'/></video>
                <redirdev bus='usb' type='spicevmc'/><redirfilter><usbdev class='0x08' allow='no'/><usbdev allow='yes'/></redirfilter>
                <smartcard mode='passthrough' type='spicevmc'/>
                <watchdog model='i6300esb' action='reset'/><panic model='isa'/>
                <memballoon model='virtio'><stats period='10'/></memballoon>
                <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
              </devices>
            </domain>
            """)
        for pattern in patterns {
            #expect(DomainXMLPolicy().refusal(pattern) == nil, "\(DomainXMLPolicy().refusal(pattern) ?? "")")
        }
    }

    @Test("a host's allowed extra lets its element through, and only that")
    func extras() {
        let usb = Self.domain("<hostdev mode='subsystem' type='usb' managed='yes'><source><vendor id='0x1234'/><product id='0x5678'/></source></hostdev>")
        let pci = Self.domain("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>")
        let bridge = Self.domain("<interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>")
        #expect(DomainXMLPolicy().refusal(usb)?.contains("templates.allowedExtras: [usbHostdev]") == true)
        #expect(DomainXMLPolicy(allowedExtras: [.usbHostdev]).refusal(usb) == nil)
        #expect(DomainXMLPolicy(allowedExtras: [.usbHostdev]).refusal(pci)?.hasPrefix("/domain/devices/hostdev: ") == true)
        #expect(DomainXMLPolicy(allowedExtras: [.usbHostdev, .pciHostdev]).refusal(pci) == nil)
        #expect(DomainXMLPolicy(allowedExtras: [.usbHostdev, .pciHostdev]).refusal(usb) == nil)
        #expect(DomainXMLPolicy(allowedExtras: [.bridgeInterface]).refusal(bridge) == nil)
        #expect(DomainXMLPolicy().refusal(bridge)?.hasPrefix("/domain/devices/interface: ") == true)
        let user = Self.domain("<interface type='user'><model type='e1000e'/></interface>")
        #expect(DomainXMLPolicy(allowedExtras: [.userInterface]).refusal(user) == nil)
        #expect(DomainXMLPolicy(allowedExtras: [.bridgeInterface]).refusal(user)?.contains("userInterface") == true)
        #expect(DomainXMLPolicy(allowedExtras: [.userInterface, .bridgeInterface]).refusal(bridge) == nil)
        // What is root by construction stays refused whatever the host allows.
        let all = DomainXMLPolicy(allowedExtras: Set(DomainXMLPolicy.Extra.allCases))
        for (_, xml, path, _) in Self.escapes where !path.contains("hostdev") && !xml.contains("bridge") && !xml.contains("type='user'") {
            #expect(all.refusal(xml)?.hasPrefix(path) == true, "\(path)")
        }
    }

    @Test("the template loader with the host's policy names the domain XML file, the element and the reason")
    func loader() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dp-template-\(UUID().uuidString)/evil")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        try "vcpus: 1\n".write(to: directory.appendingPathComponent("template.yaml"), atomically: true, encoding: .utf8)
        let xml = Self.domain("<filesystem type='mount'><source dir='/'/><target dir='root'/></filesystem>")
        try xml.write(to: directory.appendingPathComponent("domain.xml"), atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigurationError.self) { _ = try TemplateDefinition.load(directory: directory.path, policy: DomainXMLPolicy()) }
        #expect(error?.file == directory.appendingPathComponent("domain.xml").path)
        #expect(error?.message == "/domain/devices/filesystem: shares a host directory with the guest")
        // Without a policy (the remote client, which does not know the host's extras) the
        // broker decides.
        #expect(try TemplateDefinition.load(directory: directory.path).domainXML == xml)
    }

    @Test("templates.allowedExtras in deskpool.yaml: named extras only")
    func configuration() throws {
        let configuration = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: "templates:\n  allowedExtras: [usbHostdev, bridgeInterface]\n",
                                                         file: "deskpool.yaml")
        #expect(configuration.templates.allowedExtras == [.usbHostdev, .bridgeInterface])
        #expect(DeskpoolConfiguration().templates.allowedExtras.isEmpty)
        for (yaml, line, mention) in [("templates:\n  allowedExtras: [qemuCommandline]\n", 2, "not a known extra"),
                                      ("templates:\n  allowExtras: []\n", 2, "allowExtras")] {
            let error = #expect(throws: ConfigurationError.self) {
                _ = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: yaml, file: "deskpool.yaml")
            }
            #expect(error?.line == line)
            #expect(error?.description.contains(mention) == true)
        }
    }
}
