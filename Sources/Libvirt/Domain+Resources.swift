internal import CLibvirt

extension Domain {
    /// The domain's state, memory and vCPUs now (`virDomainGetInfo`): one cheap call, no XML.
    public func info() async throws(LibvirtError) -> DomainInfo {
        try await run { pointer throws(LibvirtError) in
            var info = virDomainInfo()
            try check(virDomainGetInfo(pointer, &info))
            return DomainInfo(state: DomainState.Kind(rawValue: Int32(info.state)) ?? .noState,
                              maxMemoryKiB: UInt64(info.maxMem), memoryKiB: UInt64(info.memory),
                              vcpus: Int(info.nrVirtCpu), cpuTimeNanoseconds: info.cpuTime)
        }
    }

    /// Sets the domain's memory (`virDomainSetMemoryFlags`), KiB. Live, this asks the guest's
    /// balloon driver to give memory back or take it: libvirt returns once qemu has the new
    /// target, and the live `<currentMemory>` follows when the guest reports the balloon's
    /// new size. Fails on a running domain without a balloon device, and above the maximum.
    public func setMemory(kib: UInt64, _ impact: ModificationImpact = .live) async throws(LibvirtError) {
        let flags = impact.rawValue
        try await run { pointer throws(LibvirtError) in
            _ = try check(virDomainSetMemoryFlags(pointer, UInt(kib), flags))
        }
    }

    /// Sets the number of vCPUs (`virDomainSetVcpusFlags`). Live, the guest must support CPU
    /// hotplug and the count stays within the definition's maximum.
    public func setVcpus(_ count: Int, _ impact: ModificationImpact = .live) async throws(LibvirtError) {
        let flags = impact.rawValue
        let count = UInt32(clamping: count)
        try await run { pointer throws(LibvirtError) in
            _ = try check(virDomainSetVcpusFlags(pointer, count, flags))
        }
    }
}
