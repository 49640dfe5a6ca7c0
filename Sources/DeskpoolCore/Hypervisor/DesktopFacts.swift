public import Foundation

/// What libvirt says a desktop's domain is now: its persistent definition (what the next
/// start uses) and, while it runs, its live one. Read by checks (CheckPolicy), drift reports
/// and the planner, which compares them with what the pool wants.
public struct DesktopFacts: Sendable, Hashable {
    /// Deskpool's metadata in the definition (nil: none, or not Deskpool's).
    public var identity: DesktopIdentity?
    public var persistent: DefinitionFacts
    /// Nil while the domain is not running.
    public var live: DefinitionFacts?

    public init(identity: DesktopIdentity?, persistent: DefinitionFacts, live: DefinitionFacts?) {
        self.identity = identity
        self.persistent = persistent
        self.live = live
    }

    /// The definition in effect: live while running, else the persistent one.
    public var current: DefinitionFacts { live ?? persistent }
}

/// The parts of one domain definition Deskpool manages or checks.
public struct DefinitionFacts: Sendable, Hashable {
    /// Current memory (the balloon target while running), MiB.
    public var memoryMiB: Int
    /// Maximum memory (`<memory>`), MiB: the live memory cannot grow past it.
    public var maxMemoryMiB: Int
    public var vcpus: Int
    /// The hardware as far as the definition shows it (vcpus, memory, devices).
    public var hardware: DesktopHardware
    /// Names of the virtio/spicevmc channels (`org.qemu.guest_agent.0`, `com.redhat.spice.0`).
    public var channels: [String]
    /// Source paths of the disks (`device='disk'`), in order.
    public var disks: [String]
    public var console: ConsoleFacts?

    public init(memoryMiB: Int, maxMemoryMiB: Int, vcpus: Int, hardware: DesktopHardware, channels: [String], disks: [String], console: ConsoleFacts?) {
        self.memoryMiB = memoryMiB
        self.maxMemoryMiB = maxMemoryMiB
        self.vcpus = vcpus
        self.hardware = hardware
        self.channels = channels
        self.disks = disks
        self.console = console
    }
}

/// The SPICE display of a definition. The password itself is never read into it.
public struct ConsoleFacts: Sendable, Hashable {
    public var passwordSet: Bool
    /// When the console password stops opening the display (`passwdValidTo`), if set.
    public var passwordValidTo: Date?
    /// Channels must use TLS (`defaultMode='secure'` or every channel secure).
    public var tlsRequired: Bool
    public var listenAddress: String?

    public init(passwordSet: Bool, passwordValidTo: Date?, tlsRequired: Bool, listenAddress: String?) {
        self.passwordSet = passwordSet
        self.passwordValidTo = passwordValidTo
        self.tlsRequired = tlsRequired
        self.listenAddress = listenAddress
    }
}

/// A program run inside a desktop by its guest agent (`guest-exec`). The program gets its
/// arguments as a list (no shell unless the program is one) and `input` on standard input.
public struct GuestCommand: Sendable, Hashable, Codable {
    public var path: String
    public var arguments: [String]
    /// Standard input (a script for `/bin/sh -s`, for example).
    public var input: String?

    public init(path: String, arguments: [String] = [], input: String? = nil) {
        self.path = path
        self.arguments = arguments
        self.input = input
    }
}

/// How a guest command ended.
public struct GuestCommandResult: Sendable, Hashable, Codable {
    public var exitCode: Int
    /// Standard output and error, each cut at `GuestCommandResult.outputLimit` bytes.
    public var stdout: String
    public var stderr: String
    /// Whether either output was cut.
    public var truncated: Bool

    public static let outputLimit = 64 * 1024

    public init(exitCode: Int, stdout: String, stderr: String, truncated: Bool = false) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.truncated = truncated
    }
}
