import Foundation
import FoundationXML

/// Storage volume XML for base volumes and linked clones, of any image format.
enum VolumeXML {
    /// A volume of `format` (qcow2, raw). `mode` sets the file's permissions (octal text,
    /// e.g. `0444` for a read-only base); `backing` makes it a linked clone.
    static func volume(
        name: String, capacityBytes: UInt64, format: String, mode: String? = nil, backing: (path: String, format: String)? = nil
    ) -> String {
        var target = [LibvirtXML.element("format", ["type": format])]
        if let mode {
            target.append(LibvirtXML.element("permissions", [:], [LibvirtXML.element("mode", text: mode)]))
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
}

/// What an image file on this machine holds, read from its header.
struct ImageFile {
    /// `qcow2` or `raw`.
    var format: String
    /// What the guest sees: a qcow2's virtual size, a raw file's size.
    var capacityBytes: UInt64
    var fileBytes: UInt64

    /// nil when there is no such file.
    static func inspect(_ path: String) -> ImageFile? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return nil }
        try? handle.seek(toOffset: 0)
        let header = [UInt8]((try? handle.read(upToCount: 32)) ?? Data())
        // qcow2: magic "QFI\xfb", then the virtual size as a big-endian UInt64 at offset 24.
        if header.count == 32, header[0..<4] == [0x51, 0x46, 0x49, 0xfb] {
            let virtual = header[24..<32].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return ImageFile(format: "qcow2", capacityBytes: virtual, fileBytes: size)
        }
        return ImageFile(format: "raw", capacityBytes: size, fileBytes: size)
    }
}
