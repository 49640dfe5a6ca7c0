import Glibc

/// Pins the calling thread to one CPU; threads it starts afterwards inherit the pin. The
/// `--pin` run gives the gateway a core of its own, as it has in production, where it does
/// not share CPUs with the viewer or the SPICE server.
enum Affinity {
    /// glibc's `sched_setaffinity`, which Swift's Glibc module hides (it needs _GNU_SOURCE).
    private typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32

    @discardableResult
    static func pinCurrentThread(to cpu: Int) -> Bool {
        guard let symbol = dlsym(nil, "sched_setaffinity") else { return false }
        let setAffinity = unsafeBitCast(symbol, to: SetAffinity.self)
        var set = cpu_set_t()
        return withUnsafeMutableBytes(of: &set) { bytes in
            guard cpu / 8 < bytes.count, let base = bytes.baseAddress else { return false }
            bytes[cpu / 8] |= UInt8(1 << (cpu % 8))
            // Thread id 0: the calling thread.
            return setAffinity(0, bytes.count, base) == 0
        }
    }
}
