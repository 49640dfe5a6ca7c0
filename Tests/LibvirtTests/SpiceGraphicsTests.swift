@testable import DeskpoolLibvirt
import Foundation
import FoundationXML
import Testing

/// The live `<graphics>` element read back and the password update built from it.
@Suite("SPICE graphics updates")
struct SpiceGraphicsTests {
    static let live = """
        <domain type='qemu' id='7'><name>eng-001</name><devices>
          <graphics type='vnc' port='5900' autoport='yes'/>
          <graphics type='spice' port='5901' tlsPort='5902' autoport='yes' listen='127.0.0.1' keymap='de'>
            <listen type='address' address='127.0.0.1'/>
            <image compression='off'/>
          </graphics>
          <video><model type='qxl'/></video>
        </devices></domain>
        """

    @Test("the first SPICE display's ports, attributes and children are read; another device's are not")
    func reads() throws {
        let graphics = try #require(SpiceGraphics.read(fromDomainXML: Self.live))
        #expect(graphics.port == 5901)
        #expect(graphics.tlsPort == 5902)
        #expect(graphics.attribute("keymap") == "de")
        #expect(graphics.children.map(\.name) == ["listen", "image"])
        #expect(SpiceGraphics.read(fromDomainXML: "<domain><devices><graphics type='vnc' port='5900'/></devices></domain>") == nil)
    }

    @Test("the update repeats every live setting and sets only the password, its expiry and what happens to clients")
    func update() throws {
        let graphics = try #require(SpiceGraphics.read(fromDomainXML: Self.live))
        let validTo = Date(timeIntervalSince1970: 1_800_000_000)
        let xml = graphics.update(password: "a'b<c>&\"d", validTo: validTo, disconnect: true)
        #expect(xml.hasPrefix("<graphics autoport='yes' keymap='de' listen='127.0.0.1' port='5901' tlsPort='5902' type='spice'"))
        #expect(xml.contains("passwd='a&apos;b&lt;c&gt;&amp;&quot;d'"), "escaped: no value breaks out of its attribute")
        #expect(xml.contains("passwdValidTo='2027-01-15T08:00:00'"))
        #expect(xml.contains("connected='disconnect'"))
        #expect(xml.contains("<listen address='127.0.0.1' type='address'/><image compression='off'/>"))
        // A live element that already has a password: it is replaced, not repeated.
        let withPassword = Self.live.replacingOccurrences(of: "keymap='de'", with: "keymap='de' passwd='old' passwdValidTo='2020-01-01T00:00:00'")
        let again = try #require(SpiceGraphics.read(fromDomainXML: withPassword)).update(password: "new", validTo: validTo, disconnect: false)
        #expect(!again.contains("old") && !again.contains("2020"))
        #expect(again.contains("connected='keep'"))
        // The XML parses.
        _ = try XMLDocument(xmlString: again)
    }

    @Test("the browser display (VNC) is read by its type, and its update leaves 'connected' out (VNC keeps clients)")
    func browserDisplay() throws {
        let xml = "<domain><devices>" + "<graphics type='spice' port='5901'><listen type='address' address='127.0.0.1'/></graphics>"
            + "<graphics type='vnc' port='5903' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>"
            + "</devices></domain>"
        let vnc = try #require(SpiceGraphics.read(fromDomainXML: xml, type: "vnc"))
        #expect(vnc.port == 5903)
        #expect(try #require(SpiceGraphics.read(fromDomainXML: xml)).port == 5901, "the SPICE display is still the default")
        let update = vnc.update(password: "Ab3-_x9Z", validTo: Date(timeIntervalSince1970: 1_800_000_000), disconnect: nil)
        #expect(update.hasPrefix("<graphics autoport='yes' listen='127.0.0.1' port='5903' type='vnc'"))
        #expect(update.contains("passwd='Ab3-_x9Z'") && update.contains("passwdValidTo='2027-01-15T08:00:00'"))
        #expect(!update.contains("connected="), "libvirt refuses connected='disconnect' for VNC")
    }

    @Test("query-spice: the distinct clients of the display's channels")
    func querySpiceClients() {
        let answer = #"{"return":{"enabled":true,"host":"127.0.0.1","port":5900,"auth":"spice","channels":[{"host":"127.0.0.1","port":"41000","family":"ipv4","channel-type":1,"connection-id":1,"tls":false},{"host":"127.0.0.1","port":"41002","channel-type":2,"connection-id":1,"tls":false},{"host":"::1","port":"41004","channel-type":3,"connection-id":1,"tls":false},{"host":"127.0.0.1","port":"41000","channel-type":4,"connection-id":1,"tls":false}]},"id":"libvirt-1"}"#
        #expect(LibvirtHypervisor.spiceClients(fromQuerySpice: answer) == ["127.0.0.1:41000", "127.0.0.1:41002", "[::1]:41004"])
        #expect(LibvirtHypervisor.spiceClients(fromQuerySpice: #"{"return":{"enabled":true,"channels":[]}}"#) == [])
        #expect(LibvirtHypervisor.spiceClients(fromQuerySpice: #"{"error":{"class":"GenericError","desc":"no"}}"#) == nil)
    }

    @Test("query-vnc-servers: the distinct clients of every VNC server (the browser display)")
    func queryVncClients() {
        let answer = #"{"return":[{"auth":"vnc","clients":[{"family":"ipv4","service":"60544","host":"127.0.0.1","websocket":false},{"family":"ipv6","service":"60550","host":"::1","websocket":false}],"server":[{"auth":"vnc","family":"ipv4","service":"5902","host":"127.0.0.1","websocket":false}],"id":"default"}],"id":"libvirt-424"}"#
        #expect(LibvirtHypervisor.vncClients(fromQueryVncServers: answer) == ["127.0.0.1:60544", "[::1]:60550"])
        #expect(LibvirtHypervisor.vncClients(fromQueryVncServers: #"{"return":[{"auth":"vnc","clients":[],"server":[],"id":"default"}]}"#) == [])
        #expect(LibvirtHypervisor.vncClients(fromQueryVncServers: #"{"return":[]}"#) == [])
        #expect(LibvirtHypervisor.vncClients(fromQueryVncServers: #"{"error":{"class":"CommandNotFound","desc":"no"}}"#) == nil)
    }
}
