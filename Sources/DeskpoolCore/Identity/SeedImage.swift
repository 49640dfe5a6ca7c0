/// The `cidata` volume a NoCloud seed travels in: a 1 MiB FAT12 file system labelled `CIDATA`
/// with the seed's files in its root directory under their long (VFAT) names, as cloud-init
/// and cloudbase-init look for it. Written byte by byte here (a few hundred bytes of
/// structure), so the broker needs no mkfs or mtools on its host and the result is the same
/// for the same files.
public enum SeedImage {
    public static let label = "CIDATA"
    static let sectorSize = 512
    static let totalSectors = 2048  // 1 MiB
    static let reservedSectors = 1
    static let fatCount = 2
    static let sectorsPerFAT = 6  // 2021 clusters x 12 bits
    static let rootEntries = 64  // 4 sectors
    static var rootSectors: Int { rootEntries * 32 / sectorSize }
    static var firstDataSector: Int { reservedSectors + fatCount * sectorsPerFAT + rootSectors }
    static var clusterCount: Int { totalSectors - firstDataSector }
    /// The most the files may hold together.
    public static var capacity: Int { clusterCount * sectorSize }

    /// The image of `files` (names of at most 64 ASCII letters, digits, `-`, `_`, `.`), or
    /// `.invalidInput` when they do not fit.
    public static func make(files: [(name: String, bytes: [UInt8])], serial: UInt32 = 0x4450_4F4F) throws(DeskpoolError) -> [UInt8] {
        var image = [UInt8](repeating: 0, count: totalSectors * sectorSize)
        writeBootSector(&image, serial: serial)
        var fat = [UInt16](repeating: 0, count: clusterCount + 2)
        fat[0] = 0xFF8
        fat[1] = 0xFFF
        var directory: [[UInt8]] = [volumeLabelEntry()]
        var cluster = 2
        for (index, file) in files.enumerated() {
            guard !file.name.isEmpty, file.name.count <= 64,
                  file.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw DeskpoolError(.invalidInput, "seed file name '\(file.name.prefix(64))' is not allowed", field: "identity")
            }
            let clusters = max(1, (file.bytes.count + sectorSize - 1) / sectorSize)
            guard cluster + clusters <= clusterCount + 2, file.bytes.count <= Int(UInt32.max) else {
                throw DeskpoolError(.invalidInput, "the identity seed is larger than its \(capacity / 1024) KiB volume", field: "identity")
            }
            let short = shortName(index: index + 1)
            directory += longNameEntries(file.name, checksum: checksum(short))
            directory.append(fileEntry(short, firstCluster: file.bytes.isEmpty ? 0 : cluster, size: file.bytes.count))
            guard directory.count <= rootEntries else {
                throw DeskpoolError(.invalidInput, "the identity seed has too many files", field: "identity")
            }
            if !file.bytes.isEmpty {
                for offset in 0..<clusters {
                    fat[cluster + offset] = offset == clusters - 1 ? 0xFFF : UInt16(cluster + offset + 1)
                }
                let start = (firstDataSector + cluster - 2) * sectorSize
                image.replaceSubrange(start..<start + file.bytes.count, with: file.bytes)
                cluster += clusters
            }
        }
        let table = packFAT12(fat)
        for copy in 0..<fatCount {
            let start = (reservedSectors + copy * sectorsPerFAT) * sectorSize
            image.replaceSubrange(start..<start + table.count, with: table)
        }
        let rootStart = (reservedSectors + fatCount * sectorsPerFAT) * sectorSize
        let entries = directory.flatMap { $0 }
        image.replaceSubrange(rootStart..<rootStart + entries.count, with: entries)
        return image
    }

    private static func writeBootSector(_ image: inout [UInt8], serial: UInt32) {
        var boot: [UInt8] = [0xEB, 0x3C, 0x90] + Array("DESKPOOL".utf8)
        boot += le16(sectorSize) + [1] + le16(reservedSectors) + [UInt8(fatCount)] + le16(rootEntries) + le16(totalSectors)
        boot += [0xF8] + le16(sectorsPerFAT) + le16(32) + le16(2) + le32(0) + le32(0)
        boot += [0x80, 0, 0x29] + le32(Int(serial)) + padded(label, 11) + Array("FAT12   ".utf8)
        image.replaceSubrange(0..<boot.count, with: boot)
        image[510] = 0x55
        image[511] = 0xAA
    }

    private static func volumeLabelEntry() -> [UInt8] {
        var entry = padded(label, 11) + [0x08]
        entry += [UInt8](repeating: 0, count: 20)
        return entry
    }

    /// `DPSEED01.   ` etc.: 8.3 names nobody reads (the long names are the files' names).
    private static func shortName(index: Int) -> [UInt8] {
        let digits = String(index)
        return Array(("DPSEED" + String(repeating: "0", count: max(0, 2 - digits.count)) + digits).utf8) + Array("   ".utf8)
    }

    private static func fileEntry(_ short: [UInt8], firstCluster: Int, size: Int) -> [UInt8] {
        var entry = short + [0x20]  // archive
        entry += [UInt8](repeating: 0, count: 8)  // reserved, creation time and date, access date
        entry += le16(0)  // high cluster (FAT32 only)
        entry += le16(0) + le16(0x21)  // modification time 00:00, date 1980-01-01
        entry += le16(firstCluster) + le32(size)
        return entry
    }

    /// The VFAT long-name entries for `name`, last part first as they are stored.
    private static func longNameEntries(_ name: String, checksum: UInt8) -> [[UInt8]] {
        var units = Array(name.utf16)
        let count = (units.count + 12) / 13
        units.append(0)
        while units.count % 13 != 0 { units.append(0xFFFF) }
        var entries: [[UInt8]] = []
        for part in 0..<count {
            let chunk = Array(units[part * 13..<part * 13 + 13])
            let order = UInt8(part + 1) | (part == count - 1 ? 0x40 : 0)
            var entry: [UInt8] = [order]
            for unit in chunk[0..<5] { entry += le16(Int(unit)) }
            entry += [0x0F, 0, checksum]
            for unit in chunk[5..<11] { entry += le16(Int(unit)) }
            entry += le16(0)
            for unit in chunk[11..<13] { entry += le16(Int(unit)) }
            entries.append(entry)
        }
        return entries.reversed()
    }

    static func checksum(_ short: [UInt8]) -> UInt8 {
        short.reduce(UInt8(0)) { sum, byte in ((sum & 1) << 7 &+ (sum >> 1)) &+ byte }
    }

    private static func packFAT12(_ fat: [UInt16]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: sectorsPerFAT * sectorSize)
        for (n, value) in fat.enumerated() {
            let offset = n * 3 / 2
            guard offset + 1 < bytes.count else { break }
            if n % 2 == 0 {
                bytes[offset] = UInt8(value & 0xFF)
                bytes[offset + 1] = (bytes[offset + 1] & 0xF0) | UInt8((value >> 8) & 0x0F)
            } else {
                bytes[offset] = (bytes[offset] & 0x0F) | UInt8((value & 0x0F) << 4)
                bytes[offset + 1] = UInt8((value >> 4) & 0xFF)
            }
        }
        return bytes
    }

    private static func padded(_ text: String, _ length: Int) -> [UInt8] {
        Array(Array(text.utf8).prefix(length)) + [UInt8](repeating: 0x20, count: max(0, length - text.utf8.count))
    }

    private static func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF)] }
    private static func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8((value >> ($0 * 8)) & 0xFF) } }
}
