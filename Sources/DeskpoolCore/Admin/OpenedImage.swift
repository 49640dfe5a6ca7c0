import Foundation

/// An image file the broker opened once and inspected (`ImageInspector`): every later read
/// (the upload to each host) comes from this descriptor, so what was checked is what is
/// copied, and a path swapped meanwhile changes nothing. The descriptor closes with the value.
///
/// Files come from the import directory (`open(name:inDirectory:)`: one path component, no
/// symlink even to inside, regular files only) or, for root's `deskpool local template
/// publish`, from any path (`open(path:)`), with the same inspection.
public final class OpenedImage: Sendable, Hashable, CustomStringConvertible {
    /// Open for reading; read with `pread` from offset 0 (the offset is never moved).
    public let descriptor: Int32
    /// The name messages use (the file name, never a secret).
    public let name: String
    public let facts: ImageInspector.Facts

    private init(descriptor: Int32, name: String, facts: ImageInspector.Facts) {
        self.descriptor = descriptor
        self.name = name
        self.facts = facts
    }

    deinit { close(descriptor) }

    public var description: String { "image \(name) (\(facts.format.rawValue), \(facts.fileBytes) bytes)" }
    public static func == (a: OpenedImage, b: OpenedImage) -> Bool { a === b }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }

    /// A file name an admin may give for the import directory: one path component of
    /// letters, digits, '.', '_', '-', not starting with '.', at most 128 characters.
    public static func isSafeFileName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first != ".", name.unicodeScalars.count <= 128 else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) }
    }

    /// Opens `name` directly inside `directory` with `openat(O_NOFOLLOW | O_NONBLOCK)`:
    /// a symlink is refused wherever it points, a FIFO does not block the open, and only a
    /// regular file is then inspected.
    public static func open(name: String, inDirectory directory: String, limits: ImageImportConfiguration) throws(DeskpoolError) -> OpenedImage {
        guard isSafeFileName(name) else {
            throw DeskpoolError(.invalidInput, "must be the name of a file in the import directory: letters, digits, '.', '_' or '-', not starting with '.' (at most 128)", field: "importFile")
        }
        let directoryDescriptor = Foundation.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryDescriptor >= 0 else {
            throw DeskpoolError(.notFound, "the import directory \(directory) cannot be opened (\(String(cString: strerror(errno))))", field: "importFile")
        }
        defer { close(directoryDescriptor) }
        let descriptor = openat(directoryDescriptor, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else {
            let error = errno
            switch error {
            case ENOENT: throw DeskpoolError(.notFound, "there is no file \(name) in the import directory", field: "importFile")
            case ELOOP: throw DeskpoolError(.invalidInput, "\(name) is a symbolic link, not a regular file", field: "importFile")
            default: throw DeskpoolError(.invalidInput, "\(name) cannot be opened (\(String(cString: strerror(error))))", field: "importFile")
            }
        }
        return try inspect(descriptor, name: name, field: "importFile", limits: limits)
    }

    /// Opens a file by path, following symlinks (root named it on the host), with the same
    /// checks as an import: a regular file, qcow2 or raw, within the limits.
    public static func open(path: String, limits: ImageImportConfiguration) throws(DeskpoolError) -> OpenedImage {
        let descriptor = Foundation.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else {
            let error = errno
            if error == ENOENT { throw DeskpoolError(.notFound, "image file \(path) is missing", field: "file") }
            throw DeskpoolError(.invalidInput, "\(path) cannot be opened (\(String(cString: strerror(error))))", field: "file")
        }
        return try inspect(descriptor, name: path, field: "file", limits: limits)
    }

    /// Takes `descriptor` (closed on refusal): fstat, then the first bytes.
    private static func inspect(_ descriptor: Int32, name: String, field: String, limits: ImageImportConfiguration) throws(DeskpoolError) -> OpenedImage {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            close(descriptor)
            throw DeskpoolError(.invalidInput, "\(name) cannot be read", field: field)
        }
        if let kind = fileKind(status.st_mode) {
            close(descriptor)
            throw DeskpoolError(.invalidInput, "\(name) is \(kind), not a regular file", field: field)
        }
        // Regular: reads never block, so O_NONBLOCK can stay.
        let size = UInt64(max(0, status.st_size))
        var header = [UInt8](repeating: 0, count: ImageInspector.headerBytes)
        let count = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, ImageInspector.headerBytes, 0) }
        guard count >= 0 else {
            close(descriptor)
            throw DeskpoolError(.invalidInput, "\(name) cannot be read (\(String(cString: strerror(errno))))", field: field)
        }
        do throws(DeskpoolError) {
            let facts = try ImageInspector.inspect(header: Array(header[0..<count]), fileBytes: size, name: name, limits: limits)
            return OpenedImage(descriptor: descriptor, name: name, facts: facts)
        } catch {
            close(descriptor)
            var error = error
            error.field = field
            throw error
        }
    }

    /// What a non-regular file is, in words; nil for a regular file.
    static func fileKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "a directory"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "not a regular file"
        }
    }

    /// Creates `path` as a directory only root can enter (0700), or makes an existing one so.
    public static func prepareDirectory(_ path: String) throws(DeskpoolError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw DeskpoolError(.invalidInput, "cannot create the directory \(path): \(error.localizedDescription)")
        }
        guard chmod(path, 0o700) == 0 else {
            throw DeskpoolError(.invalidInput, "cannot make \(path) 0700: \(String(cString: strerror(errno)))")
        }
    }
}
