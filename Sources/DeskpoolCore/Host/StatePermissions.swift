/// Which modes the broker accepts for its state directory and the files in it that hold
/// secrets or user data (the store, its WAL and shared-memory files, the connect-token key).
/// Other local users must not read policy sources, guest command output, the audit log or the
/// key that signs console tokens. Pure: the caller stats the files.
public enum StatePermissions {
    /// Permission bits of group and others.
    static let groupAndOthers: UInt16 = 0o077
    /// Search (execute) for group and others: lets qemu, which runs as its own user, reach a
    /// storage pool's images inside the directory without being able to list it.
    static let searchOnly: UInt16 = 0o011

    /// What is wrong with the state directory's mode, or nil. 0700 is right; 0711 is allowed
    /// only when a storage pool's directory lies inside it (qemu must traverse it).
    public static func directoryProblem(path: String, mode: UInt16, holdsStoragePool: Bool) -> String? {
        let open = mode & groupAndOthers
        if open == 0 { return nil }
        if holdsStoragePool, open & ~searchOnly == 0 { return nil }
        let wanted = holdsStoragePool ? "0711 (a storage pool's directory is inside it)" : "0700"
        return "the state directory \(path) has mode \(octal(mode)): other users can list or change it; run `chmod \(holdsStoragePool ? "0711" : "0700") \(path)` (wanted: \(wanted))"
    }

    /// What is wrong with a secret file's mode (the store, the key), or nil: only its owner
    /// may read or write it.
    public static func secretFileProblem(path: String, mode: UInt16) -> String? {
        guard mode & groupAndOthers != 0 else { return nil }
        return "\(path) has mode \(octal(mode)): other users can read it; run `chmod 0600 \(path)`"
    }

    /// The mode as four octal digits, as `chmod` and `stat` write it.
    static func octal(_ mode: UInt16) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
