import DeskpoolCore
@testable import DeskpoolLibvirt
import Foundation
import FoundationXML
import Testing

/// A desktop's hardware in its domain XML: rendered for new desktops and edited into
/// existing definitions by the same code (pure: no libvirt).
@Suite("Desktop domain XML: hardware")
struct DesktopDomainXMLHardwareTests {
    static func values(_ xpath: String, _ xml: String) throws -> [String] { try LibvirtXML.values(xpath, in: xml) }

    static let everything = DesktopHardware(vcpus: 4, memoryMiB: 2048, monitors: 2, audio: true, clipboard: false,
                                            streaming: .all, compression: .quic, usbRedirection: true, smartcard: true)

    @Test("the template's defaults: one QXL head, no sound, clipboard on, SPICE defaults, no USB or smartcard devices")
    func defaults() throws {
        let xml = try DesktopDomainXMLTests.render(DesktopDomainXMLTests.identity())
        #expect(try Self.values("/domain/devices/video/model/@type", xml) == ["qxl"])
        #expect(try Self.values("/domain/devices/video/model/@heads", xml) == ["1"])
        #expect(try Self.values("/domain/devices/sound", xml) == [])
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/clipboard/@copypaste", xml) == ["yes"])
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/streaming/@mode", xml) == ["filter"])
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/image/@compression", xml) == ["auto_glz"])
        #expect(try Self.values("/domain/devices/redirdev", xml) == [])
        #expect(try Self.values("/domain/devices/smartcard", xml) == [])
        #expect(try Self.values("/domain/devices/channel[@type='spicevmc']/target/@name", xml) == ["com.redhat.spice.0"])
        #expect(try Self.values("/domain/devices/memballoon/@model", xml) == ["virtio"], "the template's balloon, for live memory changes")
    }

    @Test("every device setting, and memory and vCPUs from the hardware rather than the template")
    func everything() throws {
        let xml = try DesktopDomainXMLTests.render(DesktopDomainXMLTests.identity(), hardware: Self.everything)
        #expect(try Self.values("/domain/memory", xml) == ["2048"])
        #expect(try Self.values("/domain/currentMemory", xml) == ["2048"])
        #expect(try Self.values("/domain/vcpu", xml) == ["4"])
        #expect(try Self.values("/domain/devices/video/model/@heads", xml) == ["2"])
        #expect(try Self.values("/domain/devices/sound/@model", xml) == ["ich6"])
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/clipboard/@copypaste", xml) == ["no"])
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/streaming/@mode", xml) == ["all"])
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/image/@compression", xml) == ["quic"])
        #expect(try Self.values("/domain/devices/redirdev[@bus='usb'][@type='spicevmc']", xml).count == 2)
        #expect(try Self.values("/domain/devices/smartcard[@mode='passthrough']/@type", xml) == ["spicevmc"])
        #expect(try Self.values("/domain/devices/graphics[@type='spice']/@passwd", xml).count == 1, "the console keeps its password")
    }

    @Test("desktops of one template with different hardware get their own (the skeleton cache keys on it)")
    func skeletonPerHardware() throws {
        var small = Self.everything
        small.memoryMiB = 512
        let big = try DesktopDomainXMLTests.render(DesktopDomainXMLTests.identity(), hardware: Self.everything)
        let other = try DesktopDomainXMLTests.render(DesktopDomainXMLTests.identity(), hardware: small)
        #expect(try Self.values("/domain/memory", big) == ["2048"])
        #expect(try Self.values("/domain/memory", other) == ["512"])
    }

    @Test("a pattern without video or SPICE agent channel gets them; another video model becomes QXL; a topology follows the vCPUs")
    func sparsePattern() throws {
        let bare = "<domain type='kvm'><name>x</name><os><type>hvm</type></os><devices/></domain>"
        let xml = try DesktopDomainXMLTests.render(DesktopDomainXMLTests.identity(), pattern: bare, hardware: DesktopHardware(vcpus: 2, memoryMiB: 256, monitors: 3))
        #expect(try Self.values("/domain/devices/video/model/@heads", xml) == ["3"])
        #expect(try Self.values("/domain/devices/channel[@type='spicevmc']/target/@name", xml) == ["com.redhat.spice.0"], "clipboard needs it")

        let virtio = """
        <domain type='kvm'><name>x</name><vcpu>8</vcpu><cpu><topology sockets='1' dies='1' cores='4' threads='2'/></cpu>
        <vcpus><vcpu id='0' enabled='yes'/></vcpus><os><type>hvm</type></os>
        <devices><video><model type='virtio' heads='1'><acceleration accel3d='yes'/></model></video></devices></domain>
        """
        let edited = try DesktopDomainXMLTests.render(DesktopDomainXMLTests.identity(), pattern: virtio, hardware: DesktopHardware(vcpus: 2, memoryMiB: 256))
        #expect(try Self.values("/domain/devices/video/model/@type", edited) == ["qxl"])
        #expect(try Self.values("/domain/devices/video/model/acceleration", edited) == [])
        #expect(try Self.values("/domain/cpu/topology/@sockets", edited) == ["2"])
        #expect(try Self.values("/domain/cpu/topology/@cores", edited) == ["1"])
        #expect(try Self.values("/domain/cpu/topology/@dies", edited) == [])
        #expect(try Self.values("/domain/vcpus", edited) == [])
    }

    /// A persistent definition as libvirt 9 dumps it without the secure flag (no `passwd`),
    /// with devices it added (addresses, audio) and metadata of someone else.
    static let inactiveXML = """
    <domain type='qemu'>
      <name>eng-001</name>
      <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
      <metadata>
        <other:note xmlns:other="https://example.org/other">keep me</other:note>
        <deskpool:desktop xmlns:deskpool="https://deskpool.dev/xmlns/desktop/1" instance="blue" id="3b1c-eng-001" name="eng-001" pool="engineering" template="tiny-linux" version="3" incarnation="2" generation="7"/>
      </metadata>
      <memory unit='KiB'>2097152</memory>
      <currentMemory unit='KiB'>2097152</currentMemory>
      <vcpu placement='static'>4</vcpu>
      <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
      <devices>
        <disk type='file' device='disk'><source file='/images/dp-eng-001-2.qcow2'/><target dev='vda' bus='virtio'/></disk>
        <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/><address type='virtio-serial' controller='0' bus='0' port='1'/></channel>
        <graphics type='spice' autoport='yes' listen='127.0.0.1'>
          <listen type='address' address='127.0.0.1'/>
          <image compression='quic'/><streaming mode='all'/><clipboard copypaste='no'/>
        </graphics>
        <sound model='ich6'><address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></sound>
        <audio id='1' type='spice'/>
        <video><model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='2' primary='yes'/></video>
        <redirdev bus='usb' type='spicevmc'><address type='usb' bus='0' port='1.1'/></redirdev>
        <redirdev bus='usb' type='spicevmc'><address type='usb' bus='0' port='1.2'/></redirdev>
        <smartcard mode='passthrough' type='spicevmc'><address type='ccid' controller='0' slot='0'/></smartcard>
        <memballoon model='virtio'/>
      </devices>
    </domain>
    """

    @Test("reconfiguring a libvirt definition: the new hardware and generation, a fresh password, everything else kept")
    func reconfigure() throws {
        var identity = DesktopDomainXMLTests.identity()
        identity.generation = 8
        let plain = DesktopHardware(vcpus: 1, memoryMiB: 256)
        let xml = try DesktopDomainXML.reconfigured(Self.inactiveXML, hardware: plain, identity: identity, instance: "blue")
        let result = try #require(DomainFactsParser.parse(xml))
        #expect(result.facts.hardware == plain)
        #expect(result.identity == identity)
        #expect(result.instance == "blue")
        #expect(result.facts.console?.passwordSet == true, "a definition without a password would start SPICE without ticketing")
        // A desktop defined before browser consoles gets a browser display, on its console address
        // and with a password (qemu would start it open otherwise).
        #expect(try Self.values("/domain/devices/graphics[@type='vnc']/listen/@address", xml) == ["127.0.0.1"])
        #expect(try Self.values("/domain/devices/graphics[@type='vnc']/@passwd", xml).first?.count == 8)
        let again = try DesktopDomainXML.reconfigured(xml.replacingOccurrences(of: "passwd=", with: "data-old="), hardware: plain,
                                                      identity: identity, instance: "blue")
        #expect(try Self.values("/domain/devices/graphics[@type='vnc']", again).count == 1, "one browser display, however often reconfigured")
        #expect(try Self.values("/domain/devices/graphics[@type='vnc']/@passwd", again).first?.count == 8,
                "a dumped definition (passwords hidden) gets a fresh one")
        #expect(try Self.values("/domain/uuid", xml) == ["c7a5fdbd-edaf-9455-926a-d65c16db1809"])
        #expect(try Self.values("/domain/os/type/@machine", xml) == ["pc-i440fx-7.2"])
        #expect(try Self.values("/domain/metadata/*[local-name()='note']", xml) == ["keep me"])
        #expect(try Self.values("/domain/metadata/*[local-name()='desktop']/@generation", xml) == ["8"])
        #expect(try Self.values("/domain/devices/sound", xml) == [] && Self.values("/domain/devices/redirdev", xml) == [])
        #expect(try Self.values("/domain/devices/video/model/@vgamem", xml) == ["16384"], "the video device is kept, with its heads changed")
        #expect(try Self.values("/domain/devices/disk/source/@file", xml) == ["/images/dp-eng-001-2.qcow2"])

        // Settings kept stay as they were, addresses included.
        let same = DomainFactsParser.parse(Self.inactiveXML)!.facts.hardware
        let unchanged = try DesktopDomainXML.reconfigured(Self.inactiveXML, hardware: same, identity: identity, instance: "blue")
        #expect(try Self.values("/domain/devices/redirdev/address/@port", unchanged) == ["1.1", "1.2"])
        #expect(try Self.values("/domain/devices/smartcard/address/@type", unchanged) == ["ccid"])
        #expect(DomainFactsParser.parse(unchanged)?.facts.hardware == same)
    }

    @Test("reconfiguring XML that is not a domain is invalid input")
    func reconfigureBadXML() {
        for xml in ["", "<pool/>"] {
            let error = #expect(throws: DeskpoolError.self) {
                _ = try DesktopDomainXML.reconfigured(xml, hardware: DesktopHardware(vcpus: 1, memoryMiB: 256),
                                                      identity: DesktopDomainXMLTests.identity(), instance: "default")
            }
            #expect(error?.code == .invalidInput)
        }
    }
}
