internal import CPAM
import Foundation

/// Look-ups in the system's user database (NSS: files, LDAP, SSSD ...), thread-safe.
enum UserDatabase {
    /// Group names of `user`, primary group first; empty when NSS does not know the user.
    static func groups(of user: String) -> [String] {
        guard let primary = withPasswd(user, { $0.pw_gid }) else { return [] }
        var count: Int32 = 32
        var ids = [gid_t](repeating: 0, count: Int(count))
        while getgrouplist(user, primary, &ids, &count) < 0 {
            ids = [gid_t](repeating: 0, count: Int(count) + 32)
            count = Int32(ids.count)
        }
        var names: [String] = []
        for id in ids.prefix(Int(count)) {
            if let name = groupName(id), !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// Whether the shadow entry of `user` is locked (`usermod -L` puts "!" before the hash).
    /// `false` when the shadow database cannot be read (not root) or has no entry.
    static func isPasswordLocked(_ user: String) -> Bool {
        var entry = spwd()
        var result: UnsafeMutablePointer<spwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getspnam_r(user, &entry, &buffer, buffer.count, &result) == 0, let result,
              let hash = result.pointee.sp_pwdp else { return false }
        return hash.pointee == CChar(UInt8(ascii: "!"))
    }

    private static func withPasswd<T>(_ user: String, _ body: (passwd) -> T) -> T? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(user, &entry, &buffer, buffer.count, &result) == 0, let result else { return nil }
        return body(result.pointee)
    }

    private static func groupName(_ id: gid_t) -> String? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var size = 4096
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let status = getgrgid_r(id, &entry, &buffer, buffer.count, &result)
            if status == ERANGE, size < 1 << 20 { size *= 4; continue }
            guard status == 0, let result, let name = result.pointee.gr_name else { return nil }
            return String(cString: name)
        }
    }
}
