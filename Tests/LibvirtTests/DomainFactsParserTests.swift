import DeskpoolCore
import DeskpoolLibvirt
import Foundation
import Testing

/// Reading checks' facts from domain XML (pure: no libvirt).
@Suite("Domain facts parser")
struct DomainFactsParserTests {
    /// A live definition as libvirt 9 dumps it with the secure flag (shortened).
    static let liveXML = """
    <domain type='qemu' id='7'>
      <name>eng-001</name>
      <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
      <metadata>
        <deskpool:desktop xmlns:deskpool="https://deskpool.dev/xmlns/desktop/1" instance="default" id="3b1c" name="eng-001" pool="engineering" template="tiny-linux" version="3" incarnation="2" generation="7"/>
      </metadata>
      <memory unit='KiB'>524288</memory>
      <currentMemory unit='KiB'>393216</currentMemory>
      <vcpu placement='static' current='2'>4</vcpu>
      <devices>
        <disk type='file' device='disk'>
          <driver name='qemu' type='qcow2'/>
          <source file='/var/lib/deskpool/images/dp-eng-001-2.qcow2' index='1'/>
          <backingStore type='file' index='2'><format type='qcow2'/><source file='/var/lib/deskpool/images/dp-base-v3.qcow2'/></backingStore>
          <target dev='vda' bus='virtio'/>
        </disk>
        <disk type='file' device='cdrom'><source file='/iso/tools.iso'/><target dev='hdc' bus='ide'/></disk>
        <disk type='block' device='disk'><source dev='/dev/vg/data'/><target dev='vdb' bus='virtio'/></disk>
        <channel type='unix'>
          <source mode='bind' path='/run/libvirt/qemu/channel/7-eng-001/org.qemu.guest_agent.0'/>
          <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/>
        </channel>
        <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0' state='disconnected'/></channel>
        <graphics type='spice' port='5901' autoport='yes' listen='10.0.0.5' passwd='s3cret-never-kept' passwdValidTo='2026-12-02T01:30:45' defaultMode='secure'>
          <listen type='address' address='10.0.0.5'/>
          <image compression='quic'/>
          <streaming mode='all'/>
          <clipboard copypaste='yes'/>
        </graphics>
        <sound model='ich6'><address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></sound>
        <audio id='1' type='spice'/>
        <video><model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='3' primary='yes'/></video>
        <redirdev bus='usb' type='spicevmc'><address type='usb' bus='0' port='1.1'/></redirdev>
        <smartcard mode='passthrough' type='spicevmc'/>
        <memballoon model='virtio'/>
      </devices>
    </domain>
    """

    @Test("a live definition: memory, vCPUs, devices, channels, disks, console, identity")
    func live() throws {
        let result = try #require(DomainFactsParser.parse(Self.liveXML))
        let facts = result.facts
        #expect(facts.memoryMiB == 384)
        #expect(facts.maxMemoryMiB == 512)
        #expect(facts.vcpus == 2, "the vCPUs in use (current), not the maximum")
        #expect(facts.hardware == DesktopHardware(vcpus: 2, memoryMiB: 512, monitors: 3, audio: true, clipboard: true,
                                                  streaming: .all, compression: .quic, usbRedirection: true, smartcard: true))
        #expect(facts.channels == ["org.qemu.guest_agent.0", "com.redhat.spice.0"])
        #expect(facts.disks == ["/var/lib/deskpool/images/dp-eng-001-2.qcow2", "/dev/vg/data"], "disks only, not CD-ROMs or backing files")
        let console = try #require(facts.console)
        #expect(console.passwordSet)
        #expect(console.passwordValidTo == Date(timeIntervalSince1970: 1_796_175_045))  // 2026-12-02T01:30:45Z
        #expect(console.tlsRequired)
        #expect(console.listenAddress == "10.0.0.5")
        #expect(!"\(result)".contains("s3cret"), "the password is never kept")
        #expect(result.identity == DesktopIdentity(id: "3b1c", name: "eng-001", pool: "engineering", template: "tiny-linux",
                                                   version: 3, incarnation: 2, generation: 7))
        #expect(result.instance == "default")
    }

    @Test("defaults: no devices, no console settings, memory in other units, no metadata")
    func defaults() throws {
        let xml = """
        <domain type='kvm'><name>x</name><memory unit='GiB'>2</memory><vcpu>3</vcpu>
        <devices>
          <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>
          <graphics type='spice' autoport='yes'/>
          <video><model type='qxl'/></video>
        </devices></domain>
        """
        let result = try #require(DomainFactsParser.parse(xml))
        #expect(result.facts.memoryMiB == 2048, "no currentMemory: the same as memory")
        #expect(result.facts.maxMemoryMiB == 2048)
        #expect(result.facts.vcpus == 3)
        #expect(result.facts.hardware == DesktopHardware(vcpus: 3, memoryMiB: 2048))
        #expect(result.facts.console == ConsoleFacts(passwordSet: false, passwordValidTo: nil, tlsRequired: false, listenAddress: nil))
        #expect(result.facts.disks == [])
        #expect(result.identity == nil)
    }

    @Test("clipboard needs both copypaste and the SPICE agent channel; no QXL video is 0 monitors; no SPICE is no console")
    func clipboardAndMonitors() throws {
        func hardware(_ devices: String) throws -> DesktopHardware {
            try #require(DomainFactsParser.parse("<domain><memory>1048576</memory><vcpu>1</vcpu><devices>\(devices)</devices></domain>")).facts.hardware
        }
        let agent = "<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>"
        #expect(try hardware("<graphics type='spice'/>\(agent)").clipboard)
        #expect(try !hardware("<graphics type='spice'><clipboard copypaste='no'/></graphics>\(agent)").clipboard)
        #expect(try !hardware("<graphics type='spice'/>").clipboard, "no agent channel: no copy and paste")
        #expect(try hardware("<video><model type='virtio' heads='2'/></video>").monitors == 0)
        #expect(try hardware("<video><model type='qxl' heads='4'/></video>").monitors == 4)
        #expect(DomainFactsParser.parse("<domain><devices><graphics type='vnc' passwd='x'/></devices></domain>")?.facts.console == nil)
    }

    @Test("memory units as libvirt takes them")
    func units() {
        #expect(DomainFactsParser.kibibytes("1024", unit: nil) == 1024)
        #expect(DomainFactsParser.kibibytes("1048576", unit: "b") == 1024)
        #expect(DomainFactsParser.kibibytes("256", unit: "MiB") == 262_144)
        #expect(DomainFactsParser.kibibytes("256", unit: "M") == 262_144)
        #expect(DomainFactsParser.kibibytes("1", unit: "GB") == 976_562)
        #expect(DomainFactsParser.kibibytes("1", unit: "TiB") == 1 << 30)
        #expect(DomainFactsParser.kibibytes("x", unit: "MiB") == nil)
        #expect(DomainFactsParser.kibibytes("1", unit: "parsecs") == nil)
    }

    @Test("passwdValidTo is UTC; malformed values are no date")
    func validTo() {
        #expect(DomainFactsParser.utcDate("1970-01-01T00:01:00") == Date(timeIntervalSince1970: 60))
        for bad in ["", "2026-12-02", "2026-12-02T01:30", "2026-12-02T01:30:45Z", "year-12-02T01:30:45"] {
            #expect(DomainFactsParser.utcDate(bad) == nil, "\(bad)")
        }
    }

    @Test("not a domain: nil")
    func notADomain() {
        for xml in ["", "<pool/>", "<domain><name>x</name>", "not xml"] {
            #expect(DomainFactsParser.parse(xml) == nil, "\(xml)")
        }
    }

    @Test("rendered desktops read back with the hardware they were rendered with")
    func roundTrip() throws {
        let hardware = DesktopHardware(vcpus: 2, memoryMiB: 768, monitors: 2, audio: true, clipboard: false,
                                       streaming: .off, compression: .lz, usbRedirection: true, smartcard: true)
        let identity = DesktopDomainXMLTests.identity()
        let xml = try DesktopDomainXMLTests.render(identity, hardware: hardware)
        let result = try #require(DomainFactsParser.parse(xml))
        #expect(result.facts.hardware == hardware)
        #expect(result.identity == identity)
        #expect(result.facts.console?.passwordSet == true)
        #expect(result.facts.console?.listenAddress == "10.0.0.5")
        #expect(result.facts.disks == ["/var/lib/deskpool/images/dp-eng-001-2.qcow2"])
    }

    @Test("fast enough for checks: a persistent and a live definition of 1,000 desktops in well under 2 s")
    func speed() throws {
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<2000 { _ = try #require(DomainFactsParser.parse(Self.liveXML)) }
        let took = clock.now - start
        print("[timing] 2,000 domain XML parses: \(took)")
        #expect(took < .seconds(2))
    }
}
