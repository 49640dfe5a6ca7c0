public import Foundation

/// Compares one host's desktop records with what libvirt has there, and decides the repairs:
/// adopt Deskpool domains no record owns (when their pool exists), mark records whose domain
/// vanished or broke, and remove Deskpool clones and volumes nobody owns once they have been
/// seen unowned for a grace period. Domains without Deskpool metadata, and base volumes, are
/// never touched. Pure: `ReconcilerService` runs the actions (`HostRecoveryTests`).
public enum HostRecovery {
    public struct Input: Sendable {
        public var host: String
        /// This broker's instance: domains of other instances are never touched.
        public var instance: String = BrokerConfiguration.defaultInstance
        /// Records placed on this host.
        public var records: [Desktop]
        public var observed: [ObservedDomain]
        /// Deskpool's volumes in the host's storage pool.
        public var volumes: [String]
        public var knownPools: Set<String>
        /// Desktops with work in flight: their domain and volume are owned whatever they look like.
        public var busy: Set<String>
        /// When each orphan (`domain:NAME`, `volume:NAME`) was first seen unowned.
        public var orphansSince: [String: Date]
        public var grace: TimeInterval
        public var now: Date

        public init(host: String, records: [Desktop], observed: [ObservedDomain], volumes: [String], knownPools: Set<String>,
                    busy: Set<String> = [], orphansSince: [String: Date] = [:], grace: TimeInterval, now: Date) {
            self.host = host
            self.records = records
            self.observed = observed
            self.volumes = volumes
            self.knownPools = knownPools
            self.busy = busy
            self.orphansSince = orphansSince
            self.grace = grace
            self.now = now
        }
    }

    public enum Action: Sendable, Hashable {
        /// A Deskpool domain of a known pool without a record: write one (state `starting`).
        case adopt(DesktopIdentity)
        /// The record's domain vanished or broke.
        case markFailed(Desktop, reason: String)
        /// A Deskpool domain nobody owns, past its grace period: destroy it and its volume.
        case removeDomain(name: String, volume: String)
        /// A Deskpool clone volume nobody owns, past its grace period.
        case removeVolume(String)
    }

    public struct Plan: Sendable, Hashable {
        public var actions: [Action]
        /// The orphans still waiting out their grace period (carry into the next pass).
        public var orphansSince: [String: Date]
    }

    public static func plan(_ input: Input) -> Plan {
        var actions: [Action] = []
        var orphans: [String: Date] = [:]
        let recordsByID = Dictionary(input.records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let recordNames = Set(input.records.map(\.name))
        let domainsByName = Dictionary(input.observed.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })

        func orphan(_ key: String, _ action: Action) {
            let since = input.orphansSince[key] ?? input.now
            if input.now.timeIntervalSince(since) >= input.grace { actions.append(action) } else { orphans[key] = since }
        }

        for domain in input.observed {
            guard let identity = domain.identity,  // not Deskpool's: never touched
                  (domain.instance ?? BrokerConfiguration.defaultInstance) == input.instance  // another installation's
            else { continue }
            if recordsByID[identity.id] != nil || recordNames.contains(domain.name) { continue }
            if input.knownPools.contains(identity.pool) {
                actions.append(.adopt(identity))
            } else {
                orphan("domain:\(domain.name)", .removeDomain(name: domain.name, volume: identity.volumeName))
            }
        }

        for record in input.records where !input.busy.contains(record.id) {
            if record.state == .saved {
                // A saved spare's domain is stopped (its memory on disk); it must still be there.
                if domainsByName[record.name] == nil { actions.append(.markFailed(record, reason: "domain vanished")) }
                continue
            }
            guard record.state == .ready || record.state.isInSession else { continue }  // others are driven
            guard let domain = domainsByName[record.name] else {
                actions.append(.markFailed(record, reason: "domain vanished"))
                continue
            }
            switch domain.run {
            case .running: break
            case .stopped: actions.append(.markFailed(record, reason: "domain stopped unexpectedly"))
            case .broken(let reason): actions.append(.markFailed(record, reason: reason))
            }
        }

        var owned = Set(input.records.map(\.volumeName))
        for domain in input.observed { if let identity = domain.identity { owned.insert(identity.volumeName) } }
        // Each clone's identity seed is owned with it.
        owned.formUnion(owned.map(DesktopIdentity.seedVolumeName(ofVolume:)))
        for volume in input.volumes where !owned.contains(volume) && !volume.hasPrefix("dp-base-") {
            orphan("volume:\(volume)", .removeVolume(volume))
        }
        return Plan(actions: actions, orphansSince: orphans)
    }
}
