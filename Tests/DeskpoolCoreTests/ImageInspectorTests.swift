import DeskpoolCore
import DeskpoolTesting
import Foundation
import Testing

/// Image inspection before an import: which headers and files may become a template version.
@Suite("Image inspector")
struct ImageInspectorTests {
    static let limits = ImageImportConfiguration(importDirectory: "/unused", uploadDirectory: "/unused",
                                                 maxImageBytes: 10 << 30, maxVirtualBytes: 100 << 30)

    /// A qcow2 header: version, backing offset/size, virtual size, encryption, incompatible features.
    static func qcow2(version: UInt32 = 3, backingOffset: UInt64 = 0, backingSize: UInt32 = 0, clusterBits: UInt32 = 16,
                      virtual: UInt64 = 1 << 30, crypt: UInt32 = 0, incompatible: UInt64 = 0, length: Int = 512) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(length, 112))
        func put(_ value: UInt64, at offset: Int, _ count: Int) {
            for index in 0..<count { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(count - 1 - index))) }
        }
        bytes[0..<4] = [0x51, 0x46, 0x49, 0xFB]
        put(UInt64(version), at: 4, 4)
        put(backingOffset, at: 8, 8)
        put(UInt64(backingSize), at: 16, 4)
        put(UInt64(clusterBits), at: 20, 4)
        put(virtual, at: 24, 8)
        put(UInt64(crypt), at: 32, 4)
        put(incompatible, at: 72, 8)
        put(4, at: 96, 4)
        put(104, at: 100, 4)
        return Array(bytes.prefix(length))
    }

    static let raw = Array("hello, a raw disk".utf8) + [UInt8](repeating: 0, count: 495)

    @Test("accepted and refused images", arguments: [
        // name, header, file size, expected format or refusal (code, words in the message)
        ("qcow2 v3 clean", qcow2(), 200 << 20, "qcow2 1073741824", ""),
        ("qcow2 v2 clean", qcow2(version: 2, length: 72), 200 << 20, "qcow2 1073741824", ""),
        ("qcow2 dirty (lazy refcounts)", qcow2(incompatible: 1), 200 << 20, "qcow2 1073741824", ""),
        ("qcow2 with backing file", qcow2(backingOffset: 512, backingSize: 11), 200 << 20, "invalidInput", "has a backing file"),
        ("qcow2 backing offset only", qcow2(backingOffset: 512), 200 << 20, "invalidInput", "has a backing file"),
        ("qcow2 external data file", qcow2(incompatible: 1 << 2), 200 << 20, "invalidInput", "has an external data file"),
        ("qcow2 unknown incompatible bit", qcow2(incompatible: 1 << 9), 200 << 20, "invalidInput", "unknown incompatible"),
        ("qcow2 corrupt", qcow2(incompatible: 1 << 1), 200 << 20, "invalidInput", "marked corrupt"),
        ("qcow2 encrypted (AES)", qcow2(crypt: 1), 200 << 20, "invalidInput", "is encrypted"),
        ("qcow2 encrypted (LUKS)", qcow2(crypt: 2), 200 << 20, "invalidInput", "is encrypted"),
        ("qcow v1", qcow2(version: 1), 200 << 20, "invalidInput", "version 1"),
        ("qcow2 truncated header", qcow2(length: 40), 40, "invalidInput", "truncated"),
        ("qcow2 v3 header cut at v2 length", qcow2(length: 80), 80, "invalidInput", "truncated"),
        ("qcow2 bad cluster size", qcow2(clusterBits: 40), 200 << 20, "invalidInput", "cluster size"),
        ("qcow2 virtual size over the limit", qcow2(virtual: 2 << 40), 200 << 20, "tooLarge", "virtual size 2 TiB is over images.maxVirtualBytes (100 GiB)"),
        ("raw", raw, 4 << 30, "raw 4294967296", ""),
        ("raw over the file limit", raw, 11 << 30, "tooLarge", "11 GiB is over images.maxImageBytes (10 GiB)"),
        ("qcow2 over the file limit", qcow2(), 11 << 30, "tooLarge", "images.maxImageBytes"),
        ("empty", [], 0, "invalidInput", "is empty"),
        ("vmdk descriptor", Array("# Disk DescriptorFile\nversion=1\n".utf8), 4096, "invalidInput", "looks like a vmdk image"),
        ("vmdk sparse", Array("KDMV".utf8) + [UInt8](repeating: 0, count: 508), 4096, "invalidInput", "looks like a vmdk image"),
        ("qed", Array("QED".utf8) + [0] + [UInt8](repeating: 0, count: 508), 4096, "invalidInput", "looks like a qed image"),
        ("luks", Array("LUKS".utf8) + [0xBA, 0xBE] + [UInt8](repeating: 0, count: 506), 4096, "invalidInput", "looks like a luks image"),
    ] as [(String, [UInt8], UInt64, String, String)])
    func inspect(name: String, header: [UInt8], fileBytes: UInt64, expected: String, words: String) {
        do {
            let facts = try ImageInspector.inspect(header: header, fileBytes: fileBytes, name: "img", limits: Self.limits)
            #expect("\(facts.format.rawValue) \(facts.virtualBytes)" == expected, "\(name)")
            #expect(facts.fileBytes == fileBytes)
        } catch {
            #expect(error.code.name == expected, "\(name): \(error)")
            #expect(error.message.contains(words), "\(name): \(error.message)")
            #expect(error.message.hasPrefix("img"), "the message names the image: \(error.message)")
        }
    }

    @Test("volumes: a backing store or another format is refused before their header is read")
    func volumes() throws {
        #expect(throws: Never.self) { try ImageInspector.checkVolume(format: "qcow2", hasBackingStore: false, name: "v") }
        #expect(throws: Never.self) { try ImageInspector.checkVolume(format: "raw", hasBackingStore: false, name: "v") }
        for (format, backing, words) in [("qcow2", true, "has a backing file"), ("vmdk", false, "format vmdk"), (nil, false, "format unknown")] as [(String?, Bool, String)] {
            let error = #expect(throws: DeskpoolError.self) { try ImageInspector.checkVolume(format: format, hasBackingStore: backing, name: "v") }
            #expect(error?.code == .invalidInput && error?.message.contains(words) == true, "\(error?.message ?? "")")
        }
    }

    @Test("sizes in words", arguments: [(UInt64(2) << 40, "2 TiB"), (64 << 30, "64 GiB"), (1536 << 20, "1536 MiB"), (1000, "1000 bytes"), ((1 << 30) + 1, "1073741825 bytes")] as [(UInt64, String)])
    func describe(bytes: UInt64, text: String) {
        #expect(ImageInspector.describe(bytes) == text)
    }

    @Test("images: configuration keys, defaults and bounds")
    func configuration() throws {
        let defaults = DeskpoolConfiguration().images
        #expect(defaults.importDirectory == "/var/lib/deskpool/import" && defaults.uploadDirectory == "/var/lib/deskpool/uploads")
        #expect(defaults.maxImageBytes == 64 << 30 && defaults.maxVirtualBytes == 1 << 40)
        let set = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: """
            stateDirectory: /srv/dp
            images:
              importDirectory: /srv/import
              maxImageBytes: 1073741824
              maxVirtualBytes: 2147483648
            """)
        #expect(set.images == ImageImportConfiguration(importDirectory: "/srv/import", uploadDirectory: "/srv/dp/uploads",
                                                       maxImageBytes: 1 << 30, maxVirtualBytes: 2 << 30))
        // Unset, the import directory follows the state directory, like the uploads.
        let moved = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: "stateDirectory: /srv/dp\nimages:\n  maxImageBytes: 1073741824\n")
        #expect(moved.images.importDirectory == "/srv/dp/import" && moved.images.uploadDirectory == "/srv/dp/uploads")
        #expect(try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: "stateDirectory: /srv/dp\n").images.importDirectory == "/srv/dp/import")
        for (yaml, words) in [("images:\n  importDirectory: import\n", "absolute path"), ("images:\n  importDirectory: /a/../etc\n", "absolute path"),
                              ("images:\n  maxImageBytes: 10\n", "between 1048576"), ("images:\n  maxVirtualBytes: 1\n", "maxVirtualBytes"),
                              ("images:\n  imagePath: /x\n", "unknown key 'imagePath' in images")] {
            let error = #expect(throws: ConfigurationError.self) { _ = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: yaml) }
            #expect(error?.description.contains(words) == true, "\(yaml): \(error?.description ?? "")")
        }
    }
}
