public import DeskpoolCore
import Foundation
public import FoundationXML

/// A desktop's libvirt domain XML, made from its template's domain XML pattern by editing the
/// parsed document (names and paths are escaped by the XML library, never concatenated).
///
/// Replaced per desktop: domain type, name, UUID (removed: libvirt makes one), machine type,
/// disks (one linked clone), SMBIOS product (the guest's name), Deskpool metadata, the SPICE
/// console (autoport, listen address, a random initial password) and the desktop's hardware
/// (memory, vCPUs, monitors, sound, clipboard, streaming, compression, USB redirection and
/// smartcard: `DesktopDomainXML+Hardware.swift`, which reconfiguring a desktop uses too).
/// Every other element of the pattern is kept.
public struct DesktopDomainXML: Sendable {
    /// The namespace of Deskpool's `<metadata>` element.
    public static let namespace = DomainXMLPolicy.deskpoolNamespace
    /// The prefix libvirt writes the metadata element with.
    public static let prefix = "deskpool"

    public var identity: DesktopIdentity
    public var template: TemplateDefinition
    /// `kvm` or `qemu` (TCG); `test` on libvirt's test driver.
    public var domainType: String
    /// The path of the desktop's disk volume (the linked clone).
    public var volumePath: String
    /// Where SPICE listens on the host.
    public var consoleListen: String
    /// The broker installation the desktop belongs to (`broker.instance`).
    public var instance: String
    /// What the desktop's machine has (the template's hardware with the pool's overrides).
    public var hardware: DesktopHardware
    /// What the template's domain XML may hold: checked again here, so that a template stored
    /// before a rule existed fails to provision with the reason instead of running.
    public var templatePolicy: DomainXMLPolicy
    /// The identity seed's `cidata` volume, attached read-only as a second virtio disk.
    public var seedPath: String?

    /// With `hardware` nil, the template's hardware and Deskpool's device defaults.
    public init(identity: DesktopIdentity, template: TemplateDefinition, domainType: String, volumePath: String, consoleListen: String,
                instance: String = BrokerConfiguration.defaultInstance, hardware: DesktopHardware? = nil,
                templatePolicy: DomainXMLPolicy = DomainXMLPolicy()) {
        self.instance = instance
        self.templatePolicy = templatePolicy
        self.hardware = hardware ?? DesktopHardware(template: template)
        self.identity = identity
        self.template = template
        self.domainType = domainType
        self.volumePath = volumePath
        self.consoleListen = consoleListen
    }

    /// The domain XML; throws when the pattern is not XML, its root is not `<domain>`, or
    /// `templatePolicy` refuses it (`.invalidInput`, field `domainXML`).
    ///
    /// The pattern is edited with the XML library once per template and host setting, with
    /// random tokens where the per-desktop values go (`DesktopDomainXML+Skeleton.swift`); each
    /// desktop then gets the tokens replaced by its XML-escaped values. On Linux every
    /// `XMLDocument` parse leaks (swift-corelibs-foundation), so a parse per desktop would
    /// grow the broker with every clone and refresh.
    public func render() throws(DeskpoolError) -> String {
        try Self.skeleton(for: self).fill(values: [
            "id": identity.id, "name": identity.name, "pool": identity.pool, "template": identity.template,
            "version": String(identity.version), "incarnation": String(identity.incarnation),
            "generation": String(identity.generation), "volume": volumePath, "passwd": ConsoleTicket.mint().secret,
            "browserPasswd": BrowserConsolePassword.mint().secret, "seed": seedPath ?? "",
        ])
    }

    /// Edits the pattern with `values` (tokens, for a skeleton) in the per-desktop places.
    func edit(values: [String: String]) throws(DeskpoolError) -> String {
        let (document, domain) = try Self.parseDomain(template.domainXML, "template \(template.name): the domain XML")
        defer { withExtendedLifetime(document) {} }
        domain.setAttribute("type", domainType)
        domain.removeChildren(named: "uuid")
        domain.replaceChild(LibvirtXML.element("name", text: values["name"]!))
        setOS(in: domain)
        setSMBIOSProduct(in: domain, name: values["name"]!)
        let devices = domain.child(named: "devices") ?? domain.appending(XMLElement(name: "devices"))
        setDisk(in: devices, path: values["volume"]!, seed: seedPath == nil ? nil : values["seed"]!)
        setConsole(in: devices, password: values["passwd"]!, browserPassword: values["browserPasswd"]!)
        Self.setCrashHandling(in: domain, devices: devices)
        Self.setHardware(hardware, in: domain)
        Self.setMetadata(in: domain, values: values, instance: instance)
        return domain.xmlString
    }

    /// `xml` parsed, with its `<domain>` root (the caller keeps the document while it edits
    /// the root); `.invalidInput` (field `domain`) naming `what` otherwise.
    /// `wellFormed`: the text already passed a strict parse (libvirt's XML, read by
    /// `DomainFactsParser`), so the check is not made twice.
    static func parseDomain(_ xml: String, _ what: String, wellFormed: Bool = false) throws(DeskpoolError) -> (XMLDocument, XMLElement) {
        // XMLDocument (libxml2 in recover mode) turns broken XML into a partial tree without
        // an error, and crashes on text without any element: check well-formedness strictly
        // first, or devices could silently vanish. (swift-corelibs' XMLParser.parse() returns
        // true even then: its parserError tells.)
        guard xml.contains("<"), wellFormed || Self.isWellFormed(xml) else {
            throw DeskpoolError(.invalidInput, "\(what) is not well-formed XML", field: "domain")
        }
        let document: XMLDocument
        do {
            document = try XMLDocument(xmlString: xml, options: [])
        } catch {
            throw DeskpoolError(.invalidInput, "\(what) does not parse: \(error.localizedDescription)", field: "domain")
        }
        guard let domain = document.rootElement(), domain.name == "domain" else {
            throw DeskpoolError(.invalidInput, "\(what)'s root element is not <domain>", field: "domain")
        }
        return (document, domain)
    }

    private static func isWellFormed(_ xml: String) -> Bool {
        let checker = XMLParser(data: Data(xml.utf8))
        return checker.parse() && checker.parserError == nil
    }

    private func setOS(in domain: XMLElement) {
        let os = domain.child(named: "os") ?? domain.appending(XMLElement(name: "os"))
        if os.child(named: "type") == nil {
            os.prepend(LibvirtXML.element("type", ["arch": "x86_64"], text: "hvm"))
        }
        os.child(named: "type")?.setAttribute("machine", template.machine)
        os.replaceChild(LibvirtXML.element("smbios", ["mode": "sysinfo"]))
    }

    /// A guest kernel that panics tells qemu through a pvpanic device (the ISA one on x86,
    /// unless the template brings its own `<panic>`), and libvirt then stops the domain
    /// (`on_crash` destroy, unless the template says otherwise) and reports it crashed: the
    /// broker fails the desktop at once with the reason instead of waiting out a boot timeout
    /// or serving a dead guest.
    static func setCrashHandling(in domain: XMLElement, devices: XMLElement) {
        if domain.child(named: "on_crash") == nil { domain.addChild(LibvirtXML.element("on_crash", text: "destroy")) }
        if devices.child(named: "panic") == nil {
            devices.addChild(LibvirtXML.element("panic", ["model": "isa"]))
        }
    }

    /// The guest reads its name from the SMBIOS product (templates/tiny-linux does).
    private func setSMBIOSProduct(in domain: XMLElement, name: String) {
        let sysinfo = domain.children(named: "sysinfo").first { $0.attribute(forName: "type")?.stringValue == "smbios" }
            ?? domain.appending(LibvirtXML.element("sysinfo", ["type": "smbios"]))
        let system = sysinfo.child(named: "system") ?? sysinfo.appending(XMLElement(name: "system"))
        for entry in system.children(named: "entry") where entry.attribute(forName: "name")?.stringValue == "product" {
            entry.detach()
        }
        system.addChild(LibvirtXML.element("entry", ["name": "product"], text: name))
    }

    private func setDisk(in devices: XMLElement, path: String, seed: String?) {
        // A disk without `device` is a disk too (libvirt's default); CD-ROMs stay.
        for disk in devices.children(named: "disk") where (disk.attribute(forName: "device")?.stringValue ?? "disk") == "disk" {
            disk.detach()
        }
        // First, so that `<boot dev='hd'>` finds it first.
        devices.prepend(LibvirtXML.element("disk", ["type": "file", "device": "disk"], [
            LibvirtXML.element("driver", ["name": "qemu", "type": "qcow2"]),
            LibvirtXML.element("source", ["file": path]),
            LibvirtXML.element("target", ["dev": "vda", "bus": "virtio"]),
        ]))
        if let seed {
            // After the system disk (the guest boots from vda), read-only: the guest can read
            // its seed, not change it.
            let system = devices.children(named: "disk").first
            let disk = LibvirtXML.element("disk", ["type": "file", "device": "disk"], [
                LibvirtXML.element("driver", ["name": "qemu", "type": "raw"]),
                LibvirtXML.element("source", ["file": seed]),
                LibvirtXML.element("target", ["dev": "vdb", "bus": "virtio"]),
                XMLElement(name: "readonly"),
            ])
            if let system, let index = devices.children?.firstIndex(where: { $0 === system }) {
                devices.insertChild(disk, at: index + 1)
            } else {
                devices.addChild(disk)
            }
        }
    }

    /// A domain must be defined with a password: qemu starts SPICE without ticketing
    /// otherwise, and then refuses every live password change.
    private func setConsole(in devices: XMLElement, password: String, browserPassword: String) {
        let graphics = devices.children(named: "graphics").first { $0.attribute(forName: "type")?.stringValue == "spice" }
            ?? devices.appending(LibvirtXML.element("graphics", ["type": "spice"]))
        for fixed in ["port", "tlsPort", "listen", "websocket"] { graphics.removeAttribute(forName: fixed) }
        graphics.setAttribute("autoport", "yes")
        graphics.setAttribute("passwd", password)
        graphics.removeChildren(named: "listen")
        graphics.prepend(LibvirtXML.element("listen", ["type": "address", "address": consoleListen]))
        Self.setBrowserDisplay(in: devices, listen: consoleListen, password: browserPassword)
    }

    /// The browser console's display: VNC on the console address (the gateway's relay is its
    /// only way in), with a random password nobody knows until the broker sets one live per
    /// open. Without a password at definition, qemu would start it without authentication.
    static func setBrowserDisplay(in devices: XMLElement, listen: String, password: String = BrowserConsolePassword.mint().secret) {
        guard !devices.children(named: "graphics").contains(where: { $0.attribute(forName: "type")?.stringValue == "vnc" }) else { return }
        devices.addChild(LibvirtXML.element("graphics", ["type": "vnc", "autoport": "yes", "passwd": password], [
            LibvirtXML.element("listen", ["type": "address", "address": listen]),
        ]))
    }

    static func setMetadata(in domain: XMLElement, values: [String: String], instance: String) {
        let metadata = domain.child(named: "metadata") ?? domain.appending(XMLElement(name: "metadata"))
        for element in metadata.children(named: "\(Self.prefix):desktop") { element.detach() }
        metadata.addChild(Self.metadataElement(values, instance: instance))
    }

    /// The metadata element, e.g. for `Domain.setMetadata`.
    public static func metadataElement(_ identity: DesktopIdentity, instance: String = BrokerConfiguration.defaultInstance) -> XMLElement {
        metadataElement([
            "id": identity.id, "name": identity.name, "pool": identity.pool, "template": identity.template,
            "version": String(identity.version), "incarnation": String(identity.incarnation),
            "generation": String(identity.generation),
        ], instance: instance)
    }

    static func metadataElement(_ values: [String: String], instance: String) -> XMLElement {
        var attributes = ["xmlns:\(prefix)": namespace, "instance": instance]
        for key in ["id", "name", "pool", "template", "version", "incarnation", "generation"] { attributes[key] = values[key] }
        return LibvirtXML.element("\(prefix):desktop", attributes)
    }
}
