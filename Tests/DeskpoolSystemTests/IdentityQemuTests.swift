import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Testing

/// Every clone its own machine, on real parts: the Debian cloud-init image
/// (templates/debian-cloud) cloned by the broker on qemu:///system, each desktop with its
/// NoCloud seed, on libvirt's NAT network `default` (dnsmasq). Read through the guest agent
/// and the network's DHCP leases.
@Suite(
    "Identity seeds on qemu:///system with cloud-init guests", .serialized,
    .enabled(if: TestTier.cloudGuest.isEnabled, Comment(rawValue: TestTier.cloudGuest.skipReason)))
struct IdentityQemuTests {
    static let templateDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("templates/debian-cloud").path

    /// What makes a guest one machine and not another, as the guest and the network say.
    struct Identity: Equatable, CustomStringConvertible {
        var hostname: String
        var machineID: String
        var hostKey: String
        var marker: String
        var mac: String
        var address: String?
        var clientID: String?
        var description: String { "\(hostname) machine-id \(machineID) key \(hostKey) mac \(mac) address \(address ?? "-") client \(clientID ?? "-")" }
    }

    static func read(_ desktop: Desktop, _ connection: Connection, network: Network) async throws -> Identity {
        let domain = try await connection.domain(named: desktop.name)
        func run(_ path: String, _ arguments: [String]) async throws -> String {
            try await GuestConsole.exec(domain, path: path, arguments: arguments).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // Ready means the host name is applied (the identity gate); the SSH host keys and the
        // first-boot script come later in cloud-init's run: wait for the script's marker.
        let cloudInitDeadline = ContinuousClock.now + .seconds(300)
        while (try? await run("/bin/cat", ["/var/lib/deskpool-first-boot"])) == nil {
            guard ContinuousClock.now < cloudInitDeadline else { throw TimeoutError(what: "cloud-init's first boot on \(desktop.name)", duration: .seconds(300)) }
            try await Task.sleep(for: .seconds(2))
        }
        let xml = try await domain.xml()
        let mac = try #require(xml.firstMatch(of: /<mac address='([0-9a-f:]+)'/)).1
        // dnsmasq records the lease once the guest's DHCP client finished; give it time.
        var lease: Network.Lease?
        let deadline = ContinuousClock.now + .seconds(120)
        while lease == nil, ContinuousClock.now < deadline {
            lease = try await network.dhcpLeases().first { $0.mac == String(mac) }
            if lease == nil { try await Task.sleep(for: .seconds(2)) }
        }
        return Identity(hostname: try await run("/bin/hostname", []),
                        machineID: try await run("/bin/cat", ["/etc/machine-id"]),
                        hostKey: try await run("/usr/bin/ssh-keygen", ["-lf", "/etc/ssh/ssh_host_ed25519_key.pub"]),
                        marker: try await run("/bin/cat", ["/var/lib/deskpool-first-boot"]),
                        mac: String(mac), address: lease?.address, clientID: lease?.clientID)
    }

    @Test("two clones of one image: each its own host name, machine-id, SSH host key, DHCP identity and address, and first-boot marker; a restart keeps them; a refresh is a new machine")
    func identities() async throws {
        let words = GuestConsole.ocrFriendlyWords
        let prefix = "\(words.randomElement()!)-"
        try await LibvirtSandbox.run(uri: "qemu:///system") { sandbox in
            let network = try await sandbox.connection.network(named: "default")
            let started = try await !network.isActive()
            if started { try await network.start() }
            let pool = try await sandbox.makeDirPool()
            let hypervisor = LibvirtHypervisor(host: "local", connection: sandbox.connection, storagePool: pool.name,
                                               domainType: HostFacts.acceleration().domainType, instance: String(sandbox.prefix.dropLast()))
            var broker = BrokerConfiguration()
            broker.instance = hypervisor.instance
            broker.backoffBaseSeconds = 600
            let h = BrokerHarness(store: try SQLiteStore.inMemory(), hypervisors: [hypervisor],
                                  options: .init(broker: broker, hostLimits: ["local": 2], probeInterval: .seconds(1)))
            let template = try TemplateDefinition.load(directory: Self.templateDirectory)
            #expect(template.identity == TemplateIdentity(seed: .nocloud, requireApplied: true))
            try await h.admin.applyTemplate(template, actor: "admin:test")
            _ = try await h.admin.publishVersion(template: "debian-cloud", from: .file(TestTier.cloudImagePath), note: "cloud", actor: "admin:test")
            var spec = PoolSpec(name: "lab", template: "debian-cloud", assignment: .dedicated, max: 2, spare: 2,
                                naming: NamePattern("\(prefix)lab-{n}"), users: ["alice", "bob"])
            spec.session.logoffAction = .refresh
            spec.identity = IdentitySettings(users: [.init(name: "student", sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOl0t7W9zjJ6f3Qn0Vb4L8mD2k1Yc8xW0mXfZ4v1q2rS student@lab"])],
                                             firstBoot: "#!/bin/sh\necho \"first boot of $(hostname)\" > /var/lib/deskpool-first-boot\n")
            try await h.admin.applyPool(spec, actor: "admin:test")
            let result: Result<Void, any Error>
            do { result = .success(try await Self.check(h, sandbox: sandbox, hypervisor: hypervisor, network: network)) } catch { result = .failure(error) }
            for listing in (try? await sandbox.connection.listDomains()) ?? [] where listing.domain.name.hasPrefix(prefix) {
                try? await listing.domain.destroy()
                try? await listing.domain.undefine()
            }
            if started { try? await network.stop() }
            try result.get()
        }
    }

    static func check(_ h: BrokerHarness, sandbox: LibvirtSandbox, hypervisor: LibvirtHypervisor, network: Network) async throws {
        try await h.running {
            let clock = ContinuousClock()
            let start = clock.now
            // Ready means the identity gate held: the guest reported its seed's host name.
            try await h.wait(for: "2 ready desktops", timeout: .seconds(1200), poll: .seconds(2)) {
                try await h.desktops("lab", in: [.ready]).count == 2
            }
            print("[timing] two cloud-init desktops ready: \(clock.now - start)")
            let desktops = try await h.store.desktops(pool: "lab").sorted { $0.name < $1.name }
            var identities: [Identity] = []
            for desktop in desktops {
                let identity = try await Self.read(desktop, sandbox.connection, network: network)
                print("[identity] \(desktop.name): \(identity)")
                #expect(identity.hostname == desktop.name, "the host name is the desktop's name")
                #expect(identity.machineID.count == 32)
                #expect(identity.marker == "first boot of \(desktop.name)", "the first-boot script ran")
                #expect(identity.address != nil, "a DHCP lease on the network")
                identities.append(identity)
            }
            let (a, b) = (identities[0], identities[1])
            #expect(a.machineID != b.machineID)
            #expect(a.hostKey != b.hostKey)
            #expect(a.mac != b.mac)
            #expect(a.address != b.address)
            #expect(a.clientID == nil || a.clientID != b.clientID, "each its own DHCP client identity")
            let seedVolume = DesktopIdentity.seedVolumeName(ofVolume: desktops[0].volumeName)
            #expect(try await hypervisor.volumeExists(named: seedVolume))

            // A restart keeps the machine (a dedicated desktop's disk and seed stay): the guest
            // reboots in place, and comes back with its machine-id and host key.
            let first = try await sandbox.connection.domain(named: desktops[0].name)
            let bootID = try await GuestConsole.exec(first, path: "/bin/cat", arguments: ["/proc/sys/kernel/random/boot_id"])
            try await hypervisor.rebootDesktop(named: desktops[0].name)
            let rebootDeadline = ContinuousClock.now + .seconds(600)
            while (try? await GuestConsole.exec(first, path: "/bin/cat", arguments: ["/proc/sys/kernel/random/boot_id"])) ?? bootID == bootID {
                guard ContinuousClock.now < rebootDeadline else { throw TimeoutError(what: "the guest's reboot", duration: .seconds(600)) }
                try await Task.sleep(for: .seconds(2))
            }
            let again = try await Self.read(desktops[0], sandbox.connection, network: network)
            #expect(again.machineID == a.machineID && again.hostKey == a.hostKey && again.hostname == a.hostname,
                    "rebooted: \(again), before: \(a)")

            // A refresh is a new instance: new machine-id and host key, the same name.
            guard case .assigned(let held) = try await h.broker.request(.init(user: "bob"), pool: "lab") else {
                throw TimeoutError(what: "a desktop for bob", duration: .zero)
            }
            let before = identities[desktops.firstIndex { $0.id == held.id }!]
            try await h.broker.logoff(desktop: held.id, by: "bob")
            try await h.wait(for: "the refreshed desktop ready", timeout: .seconds(900), poll: .seconds(2)) {
                guard let record = try await h.store.desktop(id: held.id) else { return false }
                return record.incarnation > held.incarnation && (record.state == .assigned || record.state == .ready)
            }
            let refreshed = try #require(try await h.store.desktop(id: held.id))
            let after = try await Self.read(refreshed, sandbox.connection, network: network)
            print("[identity] \(refreshed.name) refreshed: \(after)")
            #expect(after.hostname == refreshed.name)
            #expect(after.machineID != before.machineID, "a refreshed desktop is a new machine")
            #expect(after.hostKey != before.hostKey)
            #expect(try await !hypervisor.volumeExists(named: DesktopIdentity.seedVolumeName(ofVolume: held.volumeName)),
                    "the old incarnation's seed is gone")
        }
    }
}
