public import Foundation

/// Where a desktop is in its life. Every change is persisted (and audited) before the next
/// side effect, so a restarted broker knows what was under way. Which event moves a desktop
/// from which state to which is `DesktopLifecycle`'s table.
public enum DesktopState: String, Sendable, Hashable, Codable, CaseIterable {
    /// The record exists (intent); the disk and domain are being created.
    case provisioning
    /// The domain is defined and being started, or booting until its guest agent answers.
    case starting
    /// Running, guest agent answering, nobody assigned.
    case ready
    /// A ready spare whose memory is being saved to the host's disk (libvirt managed save).
    case saving
    /// A spare saved to disk: stopped, using no memory or CPU; a claim resumes it where it
    /// was (`starting`, then the user's), without a boot.
    case saved
    /// Handed to a user; no console connected.
    case assigned
    /// A console client is connected.
    case connected
    /// The console client went away; the session is kept until the disconnect timeout.
    case disconnected
    /// Being destroyed and cloned again from the pool's current template version.
    case refreshing
    /// Being restarted (shut down and started again) so that its guest runs its changed
    /// definition (a ConfigPolicy); then `starting`.
    case restarting
    /// Being destroyed for good.
    case deleting
    /// A dedicated desktop being shut down at logoff (`session.logoffAction: shutdown`).
    case stopping
    /// A dedicated desktop shut down at logoff; still its user's, started again at their next
    /// request.
    case off
    /// Broken, with a reason; never counted as ready.
    case failed

    /// States the reconciler drives forward with side effects.
    public var isTransitional: Bool {
        switch self {
        case .provisioning, .starting, .refreshing, .restarting, .deleting, .stopping, .saving: true
        default: false
        }
    }

    /// States in which a user holds the desktop.
    public var isInSession: Bool {
        switch self {
        case .assigned, .connected, .disconnected: true
        default: false
        }
    }
}

/// One desktop: a linked clone of a template version, on one host.
public struct Desktop: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    /// Also the libvirt domain name (unique across the broker).
    public var name: String
    public var pool: String
    public var host: String
    public var template: String
    public var version: Int
    public var state: DesktopState
    /// Why the desktop failed (or the last error), for admins.
    public var reason: String?
    /// The user the desktop is assigned (or reserved) to.
    public var user: String?
    /// Counts re-clones: the disk volume of each incarnation has its own name.
    public var incarnation: Int
    /// The pool's configuration generation the desktop was built with.
    public var generation: Int
    /// The user's current session on the desktop: connect tokens name it, so they stop
    /// working when the session ends. Set when the desktop is handed to a user.
    public var sessionID: String?
    /// When the desktop was handed to its user (the longest-session limit counts from here).
    public var sessionStartedAt: Date?
    /// The console client's address ("ip:port") while connected, as seen by the gateway or
    /// the hypervisor.
    public var client: String?
    /// The template version a rollout moves this desktop to at its next refresh (now, if it
    /// is idle; at logoff, if it is in use). Nil: the pool's current version.
    public var targetVersion: Int?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String = UUID().uuidString.lowercased(), name: String, pool: String, host: String, template: String,
        version: Int, state: DesktopState = .provisioning, reason: String? = nil, user: String? = nil,
        incarnation: Int = 1, generation: Int = 1, sessionID: String? = nil, sessionStartedAt: Date? = nil,
        client: String? = nil, targetVersion: Int? = nil, createdAt: Date, updatedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.pool = pool
        self.host = host
        self.template = template
        self.version = version
        self.state = state
        self.reason = reason
        self.user = user
        self.incarnation = incarnation
        self.generation = generation
        self.sessionID = sessionID
        self.sessionStartedAt = sessionStartedAt
        self.client = client
        self.targetVersion = targetVersion
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    /// Forgets the session (logoff, release, refresh): `DesktopLifecycle` only.
    mutating func endSession() {
        sessionID = nil
        sessionStartedAt = nil
        client = nil
    }

    /// The disk volume of this incarnation. Every volume Deskpool creates for a desktop starts
    /// with `dp-` and ends with `.qcow2`; recovery never touches other volumes.
    public var volumeName: String { DesktopIdentity.volumeName(name: name, incarnation: incarnation) }

    /// What the hypervisor needs to build this desktop's domain.
    public var identity: DesktopIdentity {
        DesktopIdentity(id: id, name: name, pool: pool, template: template, version: version,
                        incarnation: incarnation, generation: generation)
    }
}

/// The Deskpool metadata carried by every domain Deskpool creates.
public struct DesktopIdentity: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var pool: String
    public var template: String
    public var version: Int
    public var incarnation: Int
    public var generation: Int

    public init(id: String, name: String, pool: String, template: String, version: Int, incarnation: Int, generation: Int) {
        self.id = id
        self.name = name
        self.pool = pool
        self.template = template
        self.version = version
        self.incarnation = incarnation
        self.generation = generation
    }

    public var volumeName: String { Self.volumeName(name: name, incarnation: incarnation) }

    /// The disk volume of a desktop's incarnation: `dp-NAME-INCARNATION.qcow2`.
    public static func volumeName(name: String, incarnation: Int) -> String { "dp-\(name)-\(incarnation).qcow2" }
    /// The identity seed's volume (`cidata`) of the clone volume `volume`: removed with it.
    public static func seedVolumeName(ofVolume volume: String) -> String {
        (volume.hasSuffix(".qcow2") ? String(volume.dropLast(".qcow2".count)) : volume) + ".seed.img"
    }
}
