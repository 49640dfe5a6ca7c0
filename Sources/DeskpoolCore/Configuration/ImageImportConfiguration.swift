/// Where template images may come from and how large they may be (`images:` in deskpool.yaml).
/// An admin is not root on the host: an image is an upload, a file in `importDirectory`, or a
/// volume of the storage pool, and `ImageInspector` checks it against these limits before a
/// byte is copied.
public struct ImageImportConfiguration: Sendable, Hashable, Decodable {
    /// The directory whose regular files `{"importFile": NAME}` may name (created 0700 by the
    /// broker if missing). Symlinks in it are refused, even to files inside it. Default:
    /// `<stateDirectory>/import`.
    public var importDirectory: String = "/var/lib/deskpool/import"
    /// Largest image file accepted (bytes): an upload, an import file or a volume's allocation.
    public var maxImageBytes: UInt64 = 64 << 30
    /// Largest disk a guest may see (bytes): a qcow2's virtual size, a raw image's size.
    public var maxVirtualBytes: UInt64 = 1 << 40
    /// Where uploads are staged while they arrive: `<stateDirectory>/uploads` (0700). Not a
    /// key of its own; it follows `stateDirectory`.
    public var uploadDirectory: String = "/var/lib/deskpool/uploads"

    public init() {}

    public init(importDirectory: String, uploadDirectory: String, maxImageBytes: UInt64 = 64 << 30, maxVirtualBytes: UInt64 = 1 << 40) {
        self.importDirectory = importDirectory
        self.uploadDirectory = uploadDirectory
        self.maxImageBytes = maxImageBytes
        self.maxVirtualBytes = maxVirtualBytes
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case importDirectory, maxImageBytes, maxVirtualBytes
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "images")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let directory = try c.decodeIfPresent(String.self, forKey: .importDirectory) {
            guard directory.hasPrefix("/"), !directory.contains("\0"), directory.utf8.count <= 1024,
                  !directory.split(separator: "/").contains(where: { $0 == ".." }) else {
                throw try c.superDecoder(forKey: .importDirectory).invalid("images.importDirectory must be an absolute path without '..'")
            }
            importDirectory = directory
        }
        // Bounds: at least 1 MiB (a bootable image), at most 16 TiB (past any desktop's disk).
        for (key, path) in [(CodingKeys.maxImageBytes, \Self.maxImageBytes), (.maxVirtualBytes, \Self.maxVirtualBytes)] {
            guard let value = try c.decodeIfPresent(UInt64.self, forKey: key) else { continue }
            guard (1 << 20)...(16 << 40) ~= value else {
                throw try c.superDecoder(forKey: key).invalid("images.\(key.stringValue) must be between 1048576 (1 MiB) and 17592186044416 (16 TiB), not \(value)")
            }
            self[keyPath: path] = value
        }
    }
}
