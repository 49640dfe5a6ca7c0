import FoundationXML

/// Domain, pool and volume XML for tests, built with an XML library so names are escaped.
public enum LibvirtXML {
    /// A directory storage pool at `path`.
    public static func dirPool(name: String, path: String) -> String {
        element("pool", ["type": "dir"], [
            element("name", text: name),
            element("target", [:], [element("path", text: path)]),
        ]).xmlString
    }

    /// A qcow2 volume; with `backingPath`, a linked clone on that qcow2 image.
    public static func qcow2Volume(name: String, capacityBytes: UInt64, backingPath: String? = nil) -> String {
        var children = [
            element("name", text: name),
            element("capacity", ["unit": "bytes"], text: String(capacityBytes)),
            element("target", [:], [element("format", ["type": "qcow2"])]),
        ]
        if let backingPath {
            children.append(element("backingStore", [:], [
                element("path", text: backingPath),
                element("format", ["type": "qcow2"]),
            ]))
        }
        return element("volume", [:], children).xmlString
    }

    /// A small domain with a qcow2 disk, SPICE graphics on 127.0.0.1 (autoport), QXL video
    /// and a guest agent channel. `type` is `qemu` (TCG), `kvm` or `test`.
    ///
    /// The display gets a random initial password: qemu starts SPICE with ticketing disabled
    /// when the definition has none, and then refuses every later live password change
    /// ("Could not set password").
    public static func spiceDomain(name: String, type: String, diskPath: String, memoryMiB: Int = 64) -> String {
        element("domain", ["type": type], [
            element("name", text: name),
            element("memory", ["unit": "MiB"], text: String(memoryMiB)),
            element("vcpu", text: "1"),
            element("os", [:], [element("type", ["arch": "x86_64"], text: "hvm"), element("boot", ["dev": "hd"])]),
            element("devices", [:], [
                element("disk", ["type": "file", "device": "disk"], [
                    element("driver", ["name": "qemu", "type": "qcow2"]),
                    element("source", ["file": diskPath]),
                    element("target", ["dev": "vda", "bus": "virtio"]),
                ]),
                element("graphics", ["type": "spice", "autoport": "yes", "passwd": randomPassword()], [
                    element("listen", ["type": "address", "address": "127.0.0.1"]),
                ]),
                element("video", [:], [element("model", ["type": "qxl"])]),
                element("channel", ["type": "unix"], [
                    element("target", ["type": "virtio", "name": "org.qemu.guest_agent.0"]),
                ]),
            ]),
        ]).xmlString
    }

    /// A `<graphics>` element for a live console password change: repeats the live port,
    /// autoport and listen address (libvirt refuses changes to those) and sets the password,
    /// its expiry and what happens to connected clients (`keep` or `disconnect`).
    public static func spiceGraphicsUpdate(
        port: String, autoport: String, listenAddress: String, password: String, validTo: String, connected: String
    ) -> String {
        element("graphics", [
            "type": "spice", "port": port, "autoport": autoport,
            "passwd": password, "passwdValidTo": validTo, "connected": connected,
        ], [element("listen", ["type": "address", "address": listenAddress])]).xmlString
    }

    /// 128 random bits as hex.
    static func randomPassword() -> String {
        (0..<2).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()
    }

    /// The values at `xpath` in `xml` (attributes or element text).
    public static func values(_ xpath: String, in xml: String) throws -> [String] {
        let document = try XMLDocument(xmlString: xml)
        return try document.nodes(forXPath: xpath).map { $0.stringValue ?? "" }
    }

    static func element(_ name: String, _ attributes: [String: String] = [:], _ children: [XMLElement] = [], text: String? = nil) -> XMLElement {
        let node = XMLElement(name: name)
        if let text { node.stringValue = text }
        for key in attributes.keys.sorted() {
            if let attribute = XMLNode.attribute(withName: key, stringValue: attributes[key]!) as? XMLNode {
                node.addAttribute(attribute)
            }
        }
        for child in children { node.addChild(child) }
        return node
    }

    static func element(_ name: String, _ attributes: [String: String] = [:], text: String) -> XMLElement {
        element(name, attributes, [XMLElement](), text: text)
    }
}
