import Foundation
import FoundationXML

/// Storage volume XML for base volumes and linked clones, of any image format.
enum VolumeXML {
    /// A volume of `format` (qcow2, raw). `permissions` sets the file's mode (octal text,
    /// e.g. `0440` for a read-only base) and, where given, its owner and group (numeric ids);
    /// `backing` makes it a linked clone.
    static func volume(
        name: String, capacityBytes: UInt64, format: String, permissions: Permissions? = nil, backing: (path: String, format: String)? = nil
    ) -> String {
        var target = [LibvirtXML.element("format", ["type": format])]
        if let permissions {
            var children = [LibvirtXML.element("mode", text: permissions.mode)]
            if let owner = permissions.owner { children.append(LibvirtXML.element("owner", text: String(owner))) }
            if let group = permissions.group { children.append(LibvirtXML.element("group", text: String(group))) }
            target.append(LibvirtXML.element("permissions", [:], children))
        }
        var children = [
            LibvirtXML.element("name", text: name),
            LibvirtXML.element("capacity", ["unit": "bytes"], text: String(capacityBytes)),
            // Sparse: a raw file that is then uploaded or a clone need not be allocated.
            LibvirtXML.element("allocation", ["unit": "bytes"], text: "0"),
            LibvirtXML.element("target", [:], target),
        ]
        if let backing {
            children.append(LibvirtXML.element("backingStore", [:], [
                LibvirtXML.element("path", text: backing.path),
                LibvirtXML.element("format", ["type": backing.format]),
            ]))
        }
        return LibvirtXML.element("volume", ["type": "file"], children).xmlString
    }

    /// A volume file's mode, owner and group.
    struct Permissions: Sendable, Hashable {
        var mode: String
        var owner: UInt32?
        var group: UInt32?
    }
}
