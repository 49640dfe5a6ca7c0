internal import CLibvirt
import Foundation

extension Connection {
    /// A domain with its state, from `listDomains()`.
    public struct DomainListing: Sendable {
        public let domain: Domain
        public let state: DomainState
    }

    /// Every domain, running or only defined, with its state: one call
    /// (`virConnectGetAllDomainStats` with the state group), or, where the driver lacks it, the
    /// listing and a state call per domain (a round trip each on a remote daemon).
    public func listDomains() async throws(LibvirtError) -> [DomainListing] {
        let connection = self
        return try await run { pointer throws(LibvirtError) -> [DomainListing] in
            if let listings = try Self.statesInOneCall(pointer, connection) { return listings }
            return try Self.listAll(pointer, connection).compactMap { domain in
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

    /// The domains and their states from one stats call; nil when the driver has no such call.
    private static func statesInOneCall(_ pointer: virConnectPtr, _ connection: Connection) throws(LibvirtError) -> [DomainListing]? {
        var records: UnsafeMutablePointer<virDomainStatsRecordPtr?>?
        let count = virConnectGetAllDomainStats(pointer, UInt32(VIR_DOMAIN_STATS_STATE.rawValue), &records, 0)
        guard count >= 0 else {
            let error = LibvirtError.last()
            if error.code == .noSupport || error.code == .operationUnsupported { return nil }
            throw error
        }
        defer { virDomainStatsRecordListFree(records) }
        return (0..<Int(count)).compactMap { index -> DomainListing? in
            guard let record = records?[index], let domain = record.pointee.dom else { return nil }
            var state: Int32 = 0
            var reason: Int32 = 0
            guard virTypedParamsGetInt(record.pointee.params, record.pointee.nparams, "state.state", &state) == 1 else { return nil }
            _ = virTypedParamsGetInt(record.pointee.params, record.pointee.nparams, "state.reason", &reason)
            // The record list holds the domain; ours keeps its own reference.
            guard virDomainRef(domain) == 0 else { return nil }
            return DomainListing(domain: Domain(pointer: domain, connection: connection), state: DomainState(rawState: state, reason: reason))
        }
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
