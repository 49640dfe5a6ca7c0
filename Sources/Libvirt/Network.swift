internal import CLibvirt
import Foundation

/// A libvirt virtual network (e.g. `default`, NAT with dnsmasq for DHCP and DNS).
public final class Network: @unchecked Sendable {
    // @unchecked: immutable pointer to a thread-safe libvirt object.
    let pointer: virNetworkPtr
    public let connection: Connection
    public let name: String

    init(pointer: virNetworkPtr, connection: Connection) {
        self.pointer = pointer
        self.connection = connection
        self.name = virNetworkGetName(pointer).map { String(cString: $0) } ?? ""
    }

    deinit { virNetworkFree(pointer) }

    func run<T: Sendable>(_ body: @escaping @Sendable (virNetworkPtr) throws(LibvirtError) -> T) async throws(LibvirtError) -> T {
        try await connection.run { [self] _ throws(LibvirtError) -> T in try body(self.pointer) }
    }

    public func isActive() async throws(LibvirtError) -> Bool {
        try await run { pointer throws(LibvirtError) in try check(virNetworkIsActive(pointer)) == 1 }
    }

    /// Starts a defined network (its bridge and dnsmasq).
    public func start() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virNetworkCreate(pointer)) }
    }

    /// Stops the network; its definition stays.
    public func stop() async throws(LibvirtError) {
        try await run { pointer throws(LibvirtError) in _ = try check(virNetworkDestroy(pointer)) }
    }

    /// One DHCP lease of the network's dnsmasq.
    public struct Lease: Sendable, Hashable {
        public let mac: String
        public let address: String
        public let hostname: String?
        /// The client identifier the guest sent (DHCPv4 option 61), if any.
        public let clientID: String?
    }

    /// The network's current DHCP leases.
    public func dhcpLeases() async throws(LibvirtError) -> [Lease] {
        try await run { pointer throws(LibvirtError) -> [Lease] in
            var leases: UnsafeMutablePointer<virNetworkDHCPLeasePtr?>?
            let count = try check(virNetworkGetDHCPLeases(pointer, nil, &leases, 0))
            defer {
                for index in 0..<Int(count) { if let lease = leases?[index] { virNetworkDHCPLeaseFree(lease) } }
                free(leases)
            }
            return (0..<Int(count)).compactMap { index -> Lease? in
                guard let lease = leases?[index]?.pointee else { return nil }
                func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }
                return Lease(mac: text(lease.mac) ?? "", address: text(lease.ipaddr) ?? "", hostname: text(lease.hostname),
                             clientID: text(lease.clientid))
            }
        }
    }
}

extension Connection {
    /// The network with this name; throws `.noNetwork` when there is none.
    public func network(named name: String) async throws(LibvirtError) -> Network {
        let connection = self
        return try await run { pointer throws(LibvirtError) in
            Network(pointer: try check(virNetworkLookupByName(pointer, name)), connection: connection)
        }
    }
}
