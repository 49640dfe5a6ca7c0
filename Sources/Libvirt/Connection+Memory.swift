internal import CLibvirt

extension Connection {
    /// The host's free memory in bytes (`virNodeGetFreeMemory`); 0 when the driver cannot
    /// tell (the test driver without NUMA cells in its node file).
    public func freeMemory() async throws(LibvirtError) -> UInt64 {
        try await run { pointer throws(LibvirtError) in
            let free = virNodeGetFreeMemory(pointer)
            guard free == 0 else { return free }
            // libvirt reports a 0 from the driver as a failure without a cause; only a lost
            // connection is worth an error here.
            let error = LibvirtError.last()
            if [.noConnect, .rpcError, .systemError].contains(error.code) { throw error }
            return 0
        }
    }
}
