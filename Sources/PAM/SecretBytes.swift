internal import CPAM

/// A NUL-terminated copy of a secret in memory Swift does not move or copy, zeroed when the
/// last reference goes away.
final class SecretBytes: @unchecked Sendable {
    // @unchecked: written once in init; read by one PAM thread at a time.
    let pointer: UnsafeMutablePointer<CChar>
    let count: Int

    init(_ string: String) {
        let utf8 = Array(string.utf8)
        count = utf8.count
        pointer = .allocate(capacity: count + 1)
        for (index, byte) in utf8.enumerated() { pointer[index] = CChar(bitPattern: byte) }
        pointer[count] = 0
    }

    deinit {
        explicit_bzero(pointer, count + 1)
        pointer.deallocate()
    }

    /// A `malloc`ed copy for libpam, which frees (and, in well-behaved modules, wipes) it.
    func mallocCopy() -> UnsafeMutablePointer<CChar>? {
        strdup(pointer)
    }
}
