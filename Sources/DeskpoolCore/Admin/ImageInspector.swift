/// Decides from an image's first bytes and its size whether it may become a template version,
/// before a byte of it is copied: qcow2 (version 2 or 3, no backing file, no external data
/// file, no encryption, no incompatible feature we do not know) or raw, within the configured
/// file and virtual sizes. Anything that is not qcow2 is raw, and is then given to libvirt as
/// `raw` explicitly so that qemu never probes it (a raw image holding a qcow2 or vmdk header
/// of another kind could otherwise name host files). Pure (`ImageInspectorTests`).
public enum ImageInspector {
    /// Bytes of the image's start `inspect` needs (a qcow2 v3 header is 104 bytes or more).
    public static let headerBytes = 512

    /// What an accepted image is.
    public struct Facts: Sendable, Hashable {
        public var format: Format
        /// What the guest sees: a qcow2's virtual size, a raw image's size.
        public var virtualBytes: UInt64
        /// The image's own size on disk (the bytes to copy).
        public var fileBytes: UInt64

        public init(format: Format, virtualBytes: UInt64, fileBytes: UInt64) {
            self.format = format
            self.virtualBytes = virtualBytes
            self.fileBytes = fileBytes
        }
    }

    public enum Format: String, Sendable, Hashable {
        case qcow2, raw
    }

    /// The qcow2 magic, "QFI\xfb".
    static let qcow2Magic: [UInt8] = [0x51, 0x46, 0x49, 0xFB]
    /// Incompatible features (qcow2 spec): dirty (0), corrupt (1), external data file (2),
    /// compression type (3), extended L2 entries (4).
    static let dirtyBit: UInt64 = 1 << 0
    static let corruptBit: UInt64 = 1 << 1
    static let externalDataFileBit: UInt64 = 1 << 2
    static let knownIncompatibleBits: UInt64 = 0b11111

    /// Inspects an image named `name` (for messages) from `header` (its first
    /// `headerBytes`, or all of it if shorter) and its size in bytes.
    public static func inspect(header: [UInt8], fileBytes: UInt64, name: String,
                               limits: ImageImportConfiguration) throws(DeskpoolError) -> Facts {
        try checkFileSize(fileBytes, name: name, limits: limits)
        guard fileBytes > 0 else { throw refusal("\(name) is empty") }
        let facts: Facts
        if header.starts(with: qcow2Magic) {
            facts = try qcow2(header, fileBytes: fileBytes, name: name)
        } else if let other = otherFormat(header) {
            // Given to libvirt as raw, but its storage pool probes formats again on a refresh
            // and would then open it (and any file it names) as this format.
            throw refusal("\(name) looks like a \(other) image; only qcow2 and raw images are accepted (convert it with qemu-img)")
        } else {
            facts = Facts(format: .raw, virtualBytes: fileBytes, fileBytes: fileBytes)
        }
        guard facts.virtualBytes <= limits.maxVirtualBytes else {
            throw DeskpoolError(.tooLarge, "\(name): virtual size \(describe(facts.virtualBytes)) is over images.maxVirtualBytes (\(describe(limits.maxVirtualBytes)))")
        }
        return facts
    }

    /// Refuses an image file larger than `images.maxImageBytes` (as soon as its size is known,
    /// e.g. from an upload's Content-Length, or as soon as an upload grows past it).
    public static func checkFileSize(_ bytes: UInt64, name: String, limits: ImageImportConfiguration) throws(DeskpoolError) {
        guard bytes <= limits.maxImageBytes else {
            throw DeskpoolError(.tooLarge, "\(name): \(describe(bytes)) is over images.maxImageBytes (\(describe(limits.maxImageBytes)))")
        }
    }

    /// A volume of the storage pool as libvirt describes it: refused when libvirt reports
    /// a backing store or a format other than qcow2 or raw; otherwise its header decides.
    public static func checkVolume(format: String?, hasBackingStore: Bool, name: String) throws(DeskpoolError) {
        guard !hasBackingStore else { throw refusal("\(name) has a backing file") }
        guard let format, format == "qcow2" || format == "raw" else {
            throw refusal("\(name) is in format \(format ?? "unknown"), not qcow2 or raw")
        }
    }

    /// "2 TiB", "1536 MiB", "1234 bytes": the largest unit that divides the size exactly.
    public static func describe(_ bytes: UInt64) -> String {
        for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift) \(unit)"
        }
        return "\(bytes) bytes"
    }

    // MARK: - qcow2

    private static func qcow2(_ header: [UInt8], fileBytes: UInt64, name: String) throws(DeskpoolError) -> Facts {
        // Version 2 headers are 72 bytes; version 3 adds the feature fields up to 104.
        guard header.count >= 72 else { throw refusal("\(name) has a truncated qcow2 header") }
        let version = bigEndian(header, 4, 4)
        guard version == 2 || version == 3 else { throw refusal("\(name) is qcow2 version \(version), not 2 or 3") }
        if version == 3 { guard header.count >= 104 else { throw refusal("\(name) has a truncated qcow2 header") } }
        guard bigEndian(header, 8, 8) == 0, bigEndian(header, 16, 4) == 0 else { throw refusal("\(name) has a backing file") }
        let clusterBits = bigEndian(header, 20, 4)
        guard (9...21).contains(clusterBits) else { throw refusal("\(name) has an invalid qcow2 cluster size") }
        guard bigEndian(header, 32, 4) == 0 else { throw refusal("\(name) is encrypted") }
        if version == 3 {
            let incompatible = bigEndian(header, 72, 8)
            if incompatible & externalDataFileBit != 0 { throw refusal("\(name) has an external data file") }
            if incompatible & corruptBit != 0 { throw refusal("\(name) is marked corrupt") }
            if incompatible & ~knownIncompatibleBits != 0 {
                throw refusal("\(name) has unknown incompatible qcow2 features (0x\(String(incompatible & ~knownIncompatibleBits, radix: 16)))")
            }
        }
        return Facts(format: .qcow2, virtualBytes: bigEndian(header, 24, 8), fileBytes: fileBytes)
    }

    /// Image formats libvirt's and qemu's probes recognise by their first bytes, other than
    /// qcow2; several of them can name further files (vmdk extents, qed backing files).
    static let otherMagics: [(String, Int, [UInt8])] = [
        ("qed", 0, Array("QED\0".utf8)), ("vmdk", 0, Array("KDMV".utf8)), ("vmdk", 0, Array("# Disk DescriptorFile".utf8)),
        ("vmdk", 0, Array("COWD".utf8)), ("luks", 0, Array("LUKS".utf8) + [0xBA, 0xBE]), ("vpc", 0, Array("conectix".utf8)),
        ("vhdx", 0, Array("vhdxfile".utf8)), ("vdi", 64, [0x7F, 0x10, 0xDA, 0xBE]), ("bochs", 0, Array("Bochs Virtual HD Image".utf8)),
        ("parallels", 0, Array("WithoutFreeSpace".utf8)), ("parallels", 0, Array("WithouFreSpacExt".utf8)),
        ("ploop", 0, Array("WithoutFreSpacExt".utf8)),
        ("cloop", 0, Array("#!/bin/sh\n#V2.0 Format".utf8)),
    ]

    private static func otherFormat(_ header: [UInt8]) -> String? {
        otherMagics.first { _, offset, magic in header.count >= offset + magic.count && Array(header[offset..<offset + magic.count]) == magic }?.0
    }

    private static func bigEndian(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> UInt64 {
        bytes[offset..<offset + count].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private static func refusal(_ message: String) -> DeskpoolError {
        DeskpoolError(.invalidInput, message)
    }
}
