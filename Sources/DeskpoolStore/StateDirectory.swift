public import DeskpoolCore
import Foundation

/// The broker's state directory (`stateDirectory`): made 0700 when missing, and checked
/// before the store or the key is opened, so that a store or key other users can read is
/// refused with what to fix instead of being used.
public struct StateDirectory: Sendable {
    public let path: String
    /// Whether a storage pool's directory lies inside (then 0711 is accepted).
    public let holdsStoragePool: Bool

    /// The files that hold secrets or user data.
    public static let secretFiles = ["deskpool.sqlite", "deskpool.sqlite-wal", "deskpool.sqlite-shm", "console-token.key"]

    public init(path: String, storagePaths: [String] = []) {
        self.path = path
        let directory = path.hasSuffix("/") ? path : path + "/"
        // `images/` inside is where earlier versions put the storage pool by default; a pool
        // defined there keeps its path when the configuration's default moves.
        var isDirectory: ObjCBool = false
        let legacyImages = FileManager.default.fileExists(atPath: directory + "images", isDirectory: &isDirectory) && isDirectory.boolValue
        holdsStoragePool = legacyImages || storagePaths.contains { $0.hasPrefix(directory) }
    }

    /// Creates the directory (0700, 0711 when it holds a storage pool) if it is missing,
    /// then checks it and every secret file that exists.
    public func prepare() throws(DeskpoolError) {
        if !FileManager.default.fileExists(atPath: path) {
            let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            // mkdir's mode is cut by the umask, never widened: set the mode after.
            if mkdir(path, 0o700) != 0, errno != EEXIST {
                throw DeskpoolError(.storeFailed, "cannot create the state directory \(path): \(String(cString: strerror(errno)))")
            }
            chmod(path, holdsStoragePool ? 0o711 : 0o700)
        }
        let problems = self.problems()
        guard problems.isEmpty else {
            throw DeskpoolError(.invalidInput, problems.joined(separator: "; "), field: "stateDirectory")
        }
    }

    /// Every mode problem of the directory and its secret files (empty when all is well);
    /// `deskpool doctor` lists them.
    public func problems() -> [String] {
        var problems: [String] = []
        if let mode = Self.mode(of: path) {
            if let problem = StatePermissions.directoryProblem(path: path, mode: mode, holdsStoragePool: holdsStoragePool) {
                problems.append(problem)
            }
        }
        for name in Self.secretFiles {
            let file = URL(fileURLWithPath: path).appendingPathComponent(name).path
            if let mode = Self.mode(of: file), let problem = StatePermissions.secretFileProblem(path: file, mode: mode) {
                problems.append(problem)
            }
        }
        return problems
    }

    /// Sets the modes `problems()` asks for (`deskpool doctor --fix`).
    public func fix() {
        chmod(path, holdsStoragePool ? 0o711 : 0o700)
        for name in Self.secretFiles {
            let file = URL(fileURLWithPath: path).appendingPathComponent(name).path
            if Self.mode(of: file) != nil { chmod(file, 0o600) }
        }
    }

    /// The permission bits of `path` (not following a symlink), or nil when it does not exist.
    static func mode(of path: String) -> UInt16? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return UInt16(info.st_mode & 0o7777)
    }
}
