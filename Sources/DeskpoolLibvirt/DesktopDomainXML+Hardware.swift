import DeskpoolCore
import Foundation
import FoundationXML

/// The desktop's hardware in its domain XML: written the same way into a new desktop's
/// definition (`render`) and into an existing one's (`reconfigured`), so a reconfigured
/// desktop looks like one created with that hardware.
extension DesktopDomainXML {
    /// The SPICE agent channel: copy and paste (and display resizing) need it.
    static let spiceAgentChannel = "com.redhat.spice.0"
    /// USB redirection devices a desktop gets (remote-viewer redirects one device per channel).
    static let usbRedirectionChannels = 2

    /// `xml` (a persistent definition, as libvirt dumps it) with `hardware` and the metadata
    /// of `identity`, everything else kept. Throws `.invalidInput` for XML that is not a domain.
    ///
    /// libvirt's dump without the secure flag leaves out the console password; the result
    /// gets a fresh random one, as a new desktop does (a domain defined without a password
    /// starts SPICE without ticketing, and then refuses every live password change). The
    /// broker sets the password that opens the console live, per connection.
    static func reconfigured(_ xml: String, hardware: DesktopHardware, identity: DesktopIdentity,
                             instance: String, wellFormed: Bool = false) throws(DeskpoolError) -> String {
        // One XMLDocument per reconfiguration (rare, unlike reading facts): its leak on Linux
        // is acceptable here, for editing with the renderer's own code.
        let (document, domain) = try parseDomain(xml, "the domain XML of \(identity.name)", wellFormed: wellFormed)
        defer { withExtendedLifetime(document) {} }
        setHardware(hardware, in: domain)
        let devices = domain.child(named: "devices") ?? domain.appending(XMLElement(name: "devices"))
        if let graphics = spiceGraphics(in: devices) {
            if graphics.attribute(forName: "passwd") == nil { graphics.setAttribute("passwd", ConsoleTicket.mint().secret) }
            // The browser display the same way (without a password qemu would start it open); a
            // desktop defined before browser consoles gets one on the console's address.
            for vnc in devices.children(named: "graphics") where vnc.attribute(forName: "type")?.stringValue == "vnc"
                && vnc.attribute(forName: "passwd") == nil {
                vnc.setAttribute("passwd", BrowserConsolePassword.mint().secret)
            }
            let listen = graphics.child(named: "listen")?.attribute(forName: "address")?.stringValue ?? "127.0.0.1"
            setBrowserDisplay(in: devices, listen: listen)
        }
        setMetadata(in: domain, values: [
            "id": identity.id, "name": identity.name, "pool": identity.pool, "template": identity.template,
            "version": String(identity.version), "incarnation": String(identity.incarnation),
            "generation": String(identity.generation),
        ], instance: instance)
        return domain.xmlString
    }

    /// Writes memory, vCPUs and the console devices of `hardware` into a `<domain>` element.
    static func setHardware(_ hardware: DesktopHardware, in domain: XMLElement) {
        let memory = String(hardware.memoryMiB)
        domain.replaceChild(LibvirtXML.element("memory", ["unit": "MiB"], text: memory))
        domain.replaceChild(LibvirtXML.element("currentMemory", ["unit": "MiB"], text: memory))
        setVCPUs(hardware.vcpus, in: domain)
        let devices = domain.child(named: "devices") ?? domain.appending(XMLElement(name: "devices"))
        setVideo(monitors: hardware.monitors, in: devices)
        if !hardware.audio {
            devices.removeChildren(named: "sound")
        } else if devices.child(named: "sound") == nil {
            // libvirt 9 adds `<audio type='spice'>` itself for a sound card next to SPICE
            // graphics: the guest's sound then plays in the client.
            devices.addChild(LibvirtXML.element("sound", ["model": "ich6"]))
        }
        let graphics = spiceGraphics(in: devices) ?? devices.appending(LibvirtXML.element("graphics", ["type": "spice", "autoport": "yes"]))
        graphics.replaceChild(LibvirtXML.element("clipboard", ["copypaste": hardware.clipboard ? "yes" : "no"]))
        graphics.replaceChild(LibvirtXML.element("streaming", ["mode": hardware.streaming.rawValue]))
        graphics.replaceChild(LibvirtXML.element("image", ["compression": hardware.compression.rawValue]))
        let hasAgentChannel = devices.children(named: "channel").contains { $0.attribute(forName: "type")?.stringValue == "spicevmc" }
        if hardware.clipboard, !hasAgentChannel {
            devices.addChild(LibvirtXML.element("channel", ["type": "spicevmc"], [
                LibvirtXML.element("target", ["type": "virtio", "name": spiceAgentChannel]),
            ]))
        }
        // Redirected USB devices and the smartcard's CCID controller hang off a USB bus.
        // qemu's "pc" machine gets a UHCI one by default, other machines and the test driver
        // none: without one, a USB 3 (xHCI) controller, which also takes USB 2 devices.
        let hasUSB = devices.children(named: "controller").contains { $0.attribute(forName: "type")?.stringValue == "usb" }
        if hardware.usbRedirection || hardware.smartcard, !hasUSB {
            devices.addChild(LibvirtXML.element("controller", ["type": "usb", "index": "0", "model": "qemu-xhci"]))
        }
        // Devices already there are kept as they are (with their addresses): a reconfigure
        // that keeps the setting changes nothing about them.
        if !hardware.usbRedirection {
            devices.removeChildren(named: "redirdev")
        } else if devices.child(named: "redirdev") == nil {
            for _ in 0..<usbRedirectionChannels { devices.addChild(LibvirtXML.element("redirdev", ["bus": "usb", "type": "spicevmc"])) }
        }
        if !hardware.smartcard {
            devices.removeChildren(named: "smartcard")
        } else if devices.child(named: "smartcard") == nil {
            devices.addChild(LibvirtXML.element("smartcard", ["mode": "passthrough", "type": "spicevmc"]))
        }
    }

    /// The first SPICE `<graphics>` of `<devices>`.
    static func spiceGraphics(in devices: XMLElement) -> XMLElement? {
        devices.children(named: "graphics").first { $0.attribute(forName: "type")?.stringValue == "spice" }
    }

    private static func setVCPUs(_ count: Int, in domain: XMLElement) {
        let vcpu = domain.child(named: "vcpu") ?? domain.appending(XMLElement(name: "vcpu"))
        vcpu.removeAttribute(forName: "current")  // a pattern's "current" could exceed the new count
        vcpu.stringValue = String(count)
        // Per-vCPU settings and a topology of another size would make libvirt refuse the count.
        domain.removeChildren(named: "vcpus")
        if let topology = domain.child(named: "cpu")?.child(named: "topology") {
            let product = ["sockets", "dies", "cores", "threads"]
                .map { Int(topology.attribute(forName: $0)?.stringValue ?? "1") ?? 1 }.reduce(1, *)
            if product != count {
                topology.removeAttribute(forName: "dies")
                topology.setAttribute("sockets", String(count))
                topology.setAttribute("cores", "1")
                topology.setAttribute("threads", "1")
            }
        }
    }

    /// Monitors are heads of one QXL device (what spice-vdagent in a Linux guest expects).
    private static func setVideo(monitors: Int, in devices: XMLElement) {
        let videos = devices.children(named: "video")
        let qxl = videos.first { $0.child(named: "model")?.attribute(forName: "type")?.stringValue == "qxl" }
        if let model = qxl?.child(named: "model") {
            model.setAttribute("heads", String(monitors))
        } else if let video = videos.first {
            video.replaceChild(LibvirtXML.element("model", ["type": "qxl", "heads": String(monitors)]))
        } else {
            devices.addChild(LibvirtXML.element("video", [:], [LibvirtXML.element("model", ["type": "qxl", "heads": String(monitors)])]))
        }
    }
}
