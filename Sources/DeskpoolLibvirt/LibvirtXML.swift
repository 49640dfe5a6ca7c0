public import FoundationXML

/// libvirt XML documents Deskpool writes and reads, built with an XML library so names and
/// paths are escaped, never concatenated.
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

    /// The values at `xpath` in `xml` (attributes or element text).
    public static func values(_ xpath: String, in xml: String) throws -> [String] {
        let document = try XMLDocument(xmlString: xml)
        return try document.nodes(forXPath: xpath).map { $0.stringValue ?? "" }
    }

    public static func element(_ name: String, _ attributes: [String: String] = [:], _ children: [XMLElement] = [], text: String? = nil) -> XMLElement {
        let node = XMLElement(name: name)
        if let text { node.stringValue = text }
        for key in attributes.keys.sorted() {
            node.addAttribute(attribute(key, attributes[key]!))
        }
        for child in children { node.addChild(child) }
        return node
    }

    /// A detached attribute node. Not `XMLNode.attribute(withName:stringValue:)`: on Linux
    /// (swift-corelibs-foundation) that one keeps a retained reference to itself in libxml2's
    /// node, so it is never freed (about 400 bytes per attribute: 2 KiB per clone in the soak
    /// run). `XMLNode(kind:)` keeps an unretained one and goes with its element.
    public static func attribute(_ name: String, _ value: String) -> XMLNode {
        let attribute = XMLNode(kind: .attribute)
        attribute.name = name
        attribute.stringValue = value
        return attribute
    }

    public static func element(_ name: String, _ attributes: [String: String] = [:], text: String) -> XMLElement {
        element(name, attributes, [XMLElement](), text: text)
    }
}
