internal import CLibvirt
import Foundation

extension Connection {
    /// A domain with its state, from `listDomains()`.
    public struct DomainListing: Sendable {
        public let domain: Domain
        public let state: DomainState
    }

    /// Every domain, running or only defined, with its state.
    public func listDomains() async throws(LibvirtError) -> [DomainListing] {
        let connection = self
        return try await run { pointer throws(LibvirtError) -> [DomainListing] in
            try Self.listAll(pointer, connection).compactMap { domain in
                var state: Int32 = 0
                var reason: Int32 = 0
                // A domain can vanish between listing and asking; skip it then.
                guard virDomainGetState(domain.pointer, &state, &reason, 0) == 0 else { return nil }
                return DomainListing(domain: domain, state: DomainState(rawState: state, reason: reason))
            }
        }
    }

    /// Every domain, defined or running, in one call (no state asked: `listDomains` asks
    /// each domain's state, a call per domain on a remote daemon).
    public func allDomains() async throws(LibvirtError) -> [Domain] {
        let connection = self
        return try await run { pointer throws(LibvirtError) in try Self.listAll(pointer, connection) }
    }

    private static func listAll(_ pointer: virConnectPtr, _ connection: Connection) throws(LibvirtError) -> [Domain] {
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let count = try check(virConnectListAllDomains(pointer, &list, 0))
        defer { free(list) }
        return (0..<Int(count)).compactMap { index in list?[index].map { Domain(pointer: $0, connection: connection) } }
    }

    /// The domain with this name; throws `.noDomain` when there is none.
    public func domain(named name: String) async throws(LibvirtError) -> Domain {
        let connection = self
        return try await run { pointer throws(LibvirtError) in
            Domain(pointer: try check(virDomainLookupByName(pointer, name)), connection: connection)
        }
    }

    /// The domain with this UUID (text form); throws `.noDomain` when there is none.
    public func domain(uuid: String) async throws(LibvirtError) -> Domain {
        let connection = self
        return try await run { pointer throws(LibvirtError) in
            Domain(pointer: try check(virDomainLookupByUUIDString(pointer, uuid)), connection: connection)
        }
    }

    /// Defines (or redefines) a persistent domain from XML without starting it.
    public func defineDomain(xml: String) async throws(LibvirtError) -> Domain {
        let connection = self
        return try await run { pointer throws(LibvirtError) in
            Domain(pointer: try check(virDomainDefineXML(pointer, xml)), connection: connection)
        }
    }
}
