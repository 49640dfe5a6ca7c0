import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Testing

/// `Libvirt` against a real libvirtd at qemu:///system (guests under TCG where KVM cannot run
/// them, see ENVIRONMENT.md). Start it with `scripts/libvirtd start`.
@Suite(
    "Libvirt on real qemu:///system", .serialized,
    .enabled(if: TestTier.realLibvirt.isEnabled, Comment(rawValue: TestTier.realLibvirt.skipReason)))
struct QemuSystemTests {
    static let uri = "qemu:///system"
    static let mebibyte: UInt64 = 1 << 20

    @Test("dir pool, linked clone, SPICE domain: start, live password, events, destroy, nothing left")
    func linkedCloneDomain() async throws {
        let acceleration = HostFacts.acceleration()
        let prefix = try await LibvirtSandbox.run(uri: Self.uri) { sandbox in
            let connection = sandbox.connection
            let pool = try await sandbox.makeDirPool()

            // A base image and a linked clone on it.
            let base = try await pool.createVolume(xml: LibvirtXML.qcow2Volume(name: "base.qcow2", capacityBytes: 64 * Self.mebibyte))
            let clone = try await pool.createVolume(xml: LibvirtXML.qcow2Volume(
                name: "clone.qcow2", capacityBytes: 64 * Self.mebibyte, backingPath: base.path))
            #expect(base.path == sandbox.directory + "/base.qcow2")
            #expect(try await clone.info().capacityBytes == 64 * Self.mebibyte)
            #expect(try LibvirtXML.values("/volume/backingStore/path", in: try await clone.xml()) == [base.path])
            // Ask the image itself, not only libvirt: its header must name the base.
            let image = try QemuImage.info(clone.path)
            #expect(image.backingFile == base.path)
            #expect(image.format == "qcow2")

            // A domain on the clone with SPICE on 127.0.0.1 (autoport).
            let lifecycle = try await connection.lifecycleEvents()
            let domain = try await connection.defineDomain(xml: TestDomainXML.spiceDomain(
                name: sandbox.name("vm"), type: acceleration.domainType, diskPath: clone.path))
            let graphics = try await connection.graphicsEvents(of: domain)
            try await domain.start()
            #expect(try await domain.state().kind == .running)

            let live = try await domain.xml()
            let port = try #require(Int(try LibvirtXML.values("/domain/devices/graphics[@type='spice']/@port", in: live).first ?? ""))
            #expect(port >= 5900)
            #expect(try LibvirtXML.values("/domain/devices/graphics[@type='spice']/@autoport", in: live) == ["yes"])

            // Change the console password live: repeat port, autoport and listen.
            let password = "pw-\(UInt64.random(in: 1 ... .max))"
            let validTo = Self.libvirtTimestamp(Date().addingTimeInterval(30))
            try await domain.updateDevice(xml: LibvirtXML.spiceGraphicsUpdate(
                port: String(port), autoport: "yes", listenAddress: "127.0.0.1",
                password: password, validTo: validTo, connected: "disconnect"), .live)
            let secure = try await domain.xml(.secure)
            #expect(try LibvirtXML.values("/domain/devices/graphics/@passwd", in: secure) == [password])
            #expect(try LibvirtXML.values("/domain/devices/graphics/@passwdValidTo", in: secure) == [validTo])
            #expect(try await domain.xml().contains(password) == false, "the password shows only with .secure")

            // Changing the port is refused, with libvirt's code and message.
            let portChange = await #expect(throws: LibvirtError.self) {
                try await domain.updateDevice(xml: LibvirtXML.spiceGraphicsUpdate(
                    port: String(port + 1), autoport: "no", listenAddress: "127.0.0.1",
                    password: password, validTo: validTo, connected: "keep"), .live)
            }
            #expect(portChange?.message.isEmpty == false)

            // A client touching the SPICE port shows up as a graphics event.
            try await TCPProbe.touch(host: "127.0.0.1", port: port)
            let connect = try await withTimeout(.seconds(30), "a SPICE graphics connect event") { () -> GraphicsEvent? in
                for await event in graphics where event.phase == .connect { return event }
                return nil
            }
            #expect(connect?.domain.name == domain.name)
            #expect(connect?.remote?.node == "127.0.0.1")
            #expect(connect?.local?.service == String(port))

            try await domain.destroy()
            let events = try await withTimeout(.seconds(60), "started and stopped events") {
                var kinds: [LifecycleEvent] = []
                for await event in lifecycle where event.domain.uuid == domain.uuid {
                    kinds.append(event)
                    if event.kind == .stopped { break }
                }
                return kinds
            }
            #expect(events.map(\.kind).contains(.started))
            #expect(events.last?.stoppedDetail == .destroyed)

            try await domain.undefine([.managedSave, .nvram])
            try await clone.delete()
            try await base.delete()
            #expect(try await pool.volumes().isEmpty)
            return sandbox.prefix
        }
        try await Self.expectNothingLeft(prefix: prefix)
    }

    @Test("a test that fails half-way leaves nothing behind")
    func cleanupAfterFailure() async throws {
        struct HalfWay: Error {}
        var prefix = ""
        var directory = ""
        await #expect(throws: HalfWay.self) {
            try await LibvirtSandbox.run(uri: Self.uri) { sandbox in
                prefix = sandbox.prefix
                directory = sandbox.directory
                let pool = try await sandbox.makeDirPool()
                let base = try await pool.createVolume(xml: LibvirtXML.qcow2Volume(name: "base.qcow2", capacityBytes: 16 * Self.mebibyte))
                let clone = try await pool.createVolume(xml: LibvirtXML.qcow2Volume(
                    name: "clone.qcow2", capacityBytes: 16 * Self.mebibyte, backingPath: base.path))
                let domain = try await sandbox.connection.defineDomain(xml: TestDomainXML.spiceDomain(
                    name: sandbox.name("vm"), type: HostFacts.acceleration().domainType, diskPath: clone.path))
                try await domain.start()
                throw HalfWay()
            }
        }
        #expect(!prefix.isEmpty)
        try await Self.expectNothingLeft(prefix: prefix)
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test("bad input on the real daemon: malformed XML, missing pool, missing domain")
    func badInput() async throws {
        let connection = try await Connection.open(Self.uri)
        let malformed = await #expect(throws: LibvirtError.self) {
            _ = try await connection.defineDomain(xml: "<domain type='qemu'><name>x</name")
        }
        #expect(malformed.map { [.xmlError, .xmlDetail].contains($0.code) } == true)
        let missingPool = await #expect(throws: LibvirtError.self) {
            _ = try await connection.storagePool(named: "deskpool-no-such-pool")
        }
        #expect(missingPool?.code == .noStoragePool)
        #expect(missingPool?.message.contains("deskpool-no-such-pool") == true)
        let missingDomain = await #expect(throws: LibvirtError.self) {
            _ = try await connection.domain(named: "deskpool-no-such-domain")
        }
        #expect(missingDomain?.code == .noDomain)
        await connection.close()
    }

    @Test("when libvirtd stops answering, keepalive closes the connection and tells the caller")
    func closeNotification() async throws {
        let connection = try await Connection.open(Self.uri)
        #expect(try await connection.setKeepAlive(interval: 1, count: 1))
        let closed = connection.closeNotifications()
        let daemon = try #require(Self.libvirtdPID(), "no libvirtd process found")
        // Freeze the daemon (not kill it): keepalive probes go unanswered.
        kill(daemon, SIGSTOP)
        let reason: Connection.CloseReason?
        do {
            reason = try await withTimeout(.seconds(60), "the close notification") {
                for await reason in closed { return reason }
                return nil
            }
        } catch {
            kill(daemon, SIGCONT)
            throw error
        }
        kill(daemon, SIGCONT)
        #expect(reason == .keepalive)
        #expect(await connection.isAlive == false)
        // A new connection works once the daemon answers again.
        let again = try await Connection.open(Self.uri)
        #expect(await again.isAlive)
        await again.close()
        await connection.close()
    }

    // MARK: - Helpers

    /// The oldest process named libvirtd.
    static func libvirtdPID() -> pid_t? {
        guard let data = try? Command.output("/usr/bin/pgrep", ["-o", "-x", "libvirtd"]) else { return nil }
        return pid_t(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func expectNothingLeft(prefix: String) async throws {
        let connection = try await Connection.open(uri)
        let domains = try await connection.listDomains().map(\.domain.name)
        let pools = try await connection.listStoragePools().map(\.name)
        #expect((domains + pools).filter { $0.hasPrefix(prefix) } == [])
        await connection.close()
    }

    /// libvirt's `passwdValidTo` format: UTC, no zone suffix.
    static func libvirtTimestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.string(from: date)
    }
}

/// `qemu-img info` of an image, to check what libvirt wrote really is on disk.
enum QemuImage {
    struct Info: Decodable {
        let format: String
        let backingFile: String?
        enum CodingKeys: String, CodingKey {
            case format
            case backingFile = "full-backing-filename"
        }
    }

    static func info(_ path: String) throws -> Info {
        try JSONDecoder().decode(Info.self, from: Command.output("/usr/bin/qemu-img", ["info", "-U", "--output=json", path]))
    }
}
