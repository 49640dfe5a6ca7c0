/// A domain's resources as the hypervisor reports them now (`virDomainGetInfo`): for a
/// running domain the live values (the balloon's current size, the vCPUs in use), for a
/// stopped one those of its persistent definition.
public struct DomainInfo: Sendable, Hashable {
    public let state: DomainState.Kind
    /// The most memory the domain may have (`<memory>`), KiB: a live balloon cannot grow past it.
    public let maxMemoryKiB: UInt64
    /// The memory the domain has now (`<currentMemory>`, the balloon's size), KiB.
    public let memoryKiB: UInt64
    public let vcpus: Int
    /// CPU time used, nanoseconds.
    public let cpuTimeNanoseconds: UInt64

    public init(state: DomainState.Kind, maxMemoryKiB: UInt64, memoryKiB: UInt64, vcpus: Int, cpuTimeNanoseconds: UInt64) {
        self.state = state
        self.maxMemoryKiB = maxMemoryKiB
        self.memoryKiB = memoryKiB
        self.vcpus = vcpus
        self.cpuTimeNanoseconds = cpuTimeNanoseconds
    }
}
