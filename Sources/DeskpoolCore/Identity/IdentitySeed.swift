import Foundation
import Yams

/// A desktop's cloud-init NoCloud seed: `meta-data` (the instance and its host name) and
/// `user-data` (`#cloud-config`: host name, accounts and SSH keys, new SSH host keys, a new
/// machine-id for each instance, the first-boot script and the directory join). Rendered by a
/// YAML emitter with every string double-quoted, so no value (a name, a key, a script) can
/// add or change a key, and YAML 1.1 readers (cloud-init) never read `yes` as a boolean.
///
/// Its description is redacted: the join password may be in `userData`.
public struct IdentitySeed: Sendable, Hashable, CustomStringConvertible {
    public var metaData: String
    public var userData: String
    /// The host name given to the guest (the health gate compares the guest's with it).
    public var hostname: String
    /// `instance-id`: the desktop's id and incarnation, so a refreshed desktop is a new
    /// instance (cloud-init runs its once-per-instance steps again) and a restarted one is not.
    public var instanceID: String

    public var description: String { "<identity seed of \(hostname), instance \(instanceID)>" }

    /// The seed's files, by name, as the `cidata` volume holds them.
    public var files: [(name: String, bytes: [UInt8])] {
        [("meta-data", Array(metaData.utf8)), ("user-data", Array(userData.utf8))]
    }

    /// Where the first-boot script and the join password wait in the guest (tmpfs, root only).
    static let guestDirectory = "/run/deskpool"

    /// Renders the seed of `desktop` (of `pool`) from the pool's identity settings;
    /// `secret(name)` reads a configured secret (the join password). Throws `.invalidInput`
    /// when the settings do not check, `.notFound` when a secret cannot be read.
    public static func render(desktop: DesktopIdentity, settings: IdentitySettings,
                              secret: (String) throws(DeskpoolError) -> String) throws(DeskpoolError) -> IdentitySeed {
        try settings.validate()
        guard let hostname = IdentitySettings.hostName(pattern: settings.hostname, desktop: desktop.name, pool: desktop.pool) else {
            throw DeskpoolError(.invalidInput, "the host name pattern leaves nothing of desktop \(desktop.name)'s name", field: "identity.hostname")
        }
        let instanceID = "\(desktop.id)-\(desktop.incarnation)"
        let meta = Node([(key("instance-id"), text(instanceID)), (key("local-hostname"), text(hostname))])

        var config: [(Node, Node)] = [
            (key("hostname"), text(hostname)),
            (key("preserve_hostname"), flag(false)),
            (key("manage_etc_hosts"), flag(true)),
        ]
        if let domain = settings.domain { config.append((key("fqdn"), text("\(hostname).\(domain)"))) }
        if !settings.users.isEmpty {
            config.append((key("users"), Node(settings.users.map(user))))
        }
        // Every instance its own SSH host keys and machine-id (an image may have them baked in;
        // systemd then makes the machine-id from the domain's UUID, which is each desktop's own).
        config.append((key("ssh_deletekeys"), flag(true)))
        config.append((key("bootcmd"), Node([Node([text("cloud-init-per"), text("instance"), text("deskpool-machine-id"), text("sh"), text("-c"),
                                                     text("rm -f /etc/machine-id /var/lib/dbus/machine-id && systemd-machine-id-setup")])])))
        var files: [Node] = []
        var commands: [Node] = []
        if let script = settings.firstBoot {
            files.append(file("\(guestDirectory)/first-boot", script, permissions: "0700"))
            commands.append(Node([text("/bin/sh"), text("\(guestDirectory)/first-boot")]))
        }
        if let join = settings.domainJoin {
            var line = join.command
            if let name = join.passwordSecret {
                let password = try secret(name)
                files.append(file("\(guestDirectory)/join-password", password, permissions: "0600"))
                line = "DESKPOOL_JOIN_PASSWORD=\"$(cat \(guestDirectory)/join-password)\"; export DESKPOOL_JOIN_PASSWORD; "
                    + "rm -f \(guestDirectory)/join-password; " + join.command
            }
            commands.append(Node([text("/bin/sh"), text("-c"), text(line)]))
        }
        if !files.isEmpty { config.append((key("write_files"), Node(files))) }
        if !commands.isEmpty { config.append((key("runcmd"), Node(commands))) }
        do {
            let metaData = try Yams.serialize(node: meta)
            let userData = "#cloud-config\n" + (try Yams.serialize(node: Node(config), width: -1))
            return IdentitySeed(metaData: metaData, userData: userData, hostname: hostname, instanceID: instanceID)
        } catch {
            throw DeskpoolError(.invalidInput, "the identity seed of \(desktop.name) cannot be written as YAML", field: "identity")
        }
    }

    private static func user(_ user: IdentitySettings.User) -> Node {
        var pairs: [(Node, Node)] = [(key("name"), text(user.name)), (key("lock_passwd"), flag(true)), (key("shell"), text("/bin/bash"))]
        if !user.groups.isEmpty { pairs.append((key("groups"), text(user.groups.joined(separator: ", ")))) }
        if user.sudo { pairs.append((key("sudo"), text("ALL=(ALL) NOPASSWD:ALL"))) }
        if !user.sshAuthorizedKeys.isEmpty { pairs.append((key("ssh_authorized_keys"), Node(user.sshAuthorizedKeys.map(text)))) }
        return Node(pairs)
    }

    private static func file(_ path: String, _ content: String, permissions: String) -> Node {
        Node([(key("path"), text(path)), (key("permissions"), text(permissions)), (key("owner"), text("root:root")),
              (key("content"), text(content))])
    }

    private static func key(_ name: String) -> Node { Node(name) }
    private static func text(_ value: String) -> Node { Node(value, .implicit, .doubleQuoted) }
    private static func flag(_ value: Bool) -> Node { Node(value ? "true" : "false") }
}
