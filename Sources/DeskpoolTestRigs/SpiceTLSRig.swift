import Foundation

/// SPICE over TLS on this machine's libvirtd, as `scripts/spice-tls` sets it up: the
/// certificate directory qemu.conf names, and whether the running libvirtd read that setting.
/// Tests write their own CA and server certificate into the directory; qemu reads them when
/// each desktop starts.
public enum SpiceTLSRig {
    public static let qemuConf = "/etc/libvirt/qemu.conf"

    /// The `spice_tls_x509_cert_dir` of qemu.conf when `spice_tls = 1` is set, else nil.
    public static var certificateDirectory: String? {
        guard let text = try? String(contentsOfFile: qemuConf, encoding: .utf8) else { return nil }
        var enabled = false
        var directory: String?
        for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0] == "spice_tls" { enabled = parts[1] == "1" }
            if parts[0] == "spice_tls_x509_cert_dir" { directory = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        return enabled ? directory : nil
    }

    /// Whether qemu.conf enables SPICE TLS and the running libvirtd started after qemu.conf
    /// last changed (so it uses the setting).
    public static var isActive: Bool {
        guard certificateDirectory != nil,
              let modified = (try? FileManager.default.attributesOfItem(atPath: qemuConf))?[.modificationDate] as? Date,
              let started = libvirtdStart else { return false }
        return started > modified
    }

    /// When the running libvirtd started, from /proc.
    static var libvirtdStart: Date? {
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc"),
              let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let bootLine = stat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let boot = Double(bootLine.split(separator: " ")[1]) else { return nil }
        for pid in pids where Int(pid) != nil {
            guard (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == "libvirtd",
                  let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = text.lastIndex(of: ")") else { continue }
            // Fields after "(comm)": state is field 3, starttime field 22 (clock ticks since boot).
            let fields = text[text.index(after: close)...].split(separator: " ")
            guard fields.count > 19, let ticks = Double(fields[19]) else { continue }
            return Date(timeIntervalSince1970: boot + ticks / Double(sysconf(Int32(_SC_CLK_TCK))))
        }
        return nil
    }

    /// A CA and a server certificate signed by it, made with openssl.
    public struct Certificates: Sendable {
        public let caPEM: String
        /// As remote-viewer's `host-subject` wants it: `C=XX,O=...,CN=...`.
        public let hostSubject: String
    }

    /// The CA and the server's subject of the certificates in `directory` (qemu.conf's
    /// `spice_tls_x509_cert_dir`), read without changing anything there.
    public static func installedCertificates(in directory: String) throws -> Certificates {
        let caPEM = try String(contentsOfFile: "\(directory)/ca-cert.pem", encoding: .utf8)
        let output = String(decoding: try Command.output("/usr/bin/openssl", ["x509", "-in", "\(directory)/server-cert.pem", "-noout",
                                                                           "-subject", "-nameopt", "sep_comma_plus"]), as: UTF8.self)
        guard output.hasPrefix("subject=") else {
            throw GuestConsole.Failure(description: "cannot read the subject of \(directory)/server-cert.pem")
        }
        return Certificates(caPEM: caPEM, hostSubject: String(output.dropFirst("subject=".count)).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Writes `ca-cert.pem`, `server-cert.pem` and `server-key.pem` into `directory` (a test's
    /// own; never a host's certificate directory), for a server named `commonName`.
    @discardableResult
    public static func makeCertificates(in directory: String, commonName: String, organization: String = "Deskpool Test") throws -> Certificates {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let openssl = "/usr/bin/openssl"
        func run(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: openssl)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw GuestConsole.Failure(description: "openssl \(arguments.first ?? "") failed") }
        }
        try run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", "\(work)/ca-key.pem", "-out", "\(work)/ca-cert.pem",
                 "-subj", "/C=XX/O=\(organization)/CN=\(organization) CA \(UUID().uuidString.prefix(8))"])
        try run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(work)/server-key.pem", "-out", "\(work)/server.csr",
                 "-subj", "/C=XX/O=\(organization)/CN=\(commonName)"])
        try run(["x509", "-req", "-days", "2", "-in", "\(work)/server.csr", "-CA", "\(work)/ca-cert.pem", "-CAkey", "\(work)/ca-key.pem",
                 "-CAcreateserial", "-out", "\(work)/server-cert.pem"])
        for file in ["ca-cert.pem", "server-cert.pem", "server-key.pem"] {
            let target = "\(directory)/\(file)"
            try? FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: "\(work)/\(file)", toPath: target)
            // Test keys: qemu (libvirt-qemu) must read them.
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target)
        }
        return Certificates(caPEM: try String(contentsOfFile: "\(work)/ca-cert.pem", encoding: .utf8),
                            hostSubject: "C=XX,O=\(organization),CN=\(commonName)")
    }
}
