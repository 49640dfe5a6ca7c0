import Foundation

/// A host's SPICE TLS, as clients must check it: the CA that signed the certificate in
/// qemu.conf's `spice_tls_x509_cert_dir`, and that certificate's subject.
public struct SpiceTLSConfiguration: Sendable, Hashable, Decodable {
    /// The CA certificate (PEM) on the broker's machine, e.g. a copy of the host's ca-cert.pem.
    public var caFile: String
    /// The server certificate's subject as remote-viewer checks it, e.g. `C=DE,O=Example,CN=host1.example.org`.
    public var hostSubject: String

    public init(caFile: String, hostSubject: String) {
        self.caFile = caFile
        self.hostSubject = hostSubject
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case caFile, hostSubject }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, in: "hosts.spiceTLS")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        caFile = try c.decode(String.self, forKey: .caFile)
        guard caFile.hasPrefix("/") else { throw try c.superDecoder(forKey: .caFile).invalid("hosts.spiceTLS.caFile must be an absolute path") }
        hostSubject = try c.decode(String.self, forKey: .hostSubject)
        guard !hostSubject.isEmpty, hostSubject.allSatisfy({ !$0.isNewline && $0 != "\u{0}" }) else {
            throw try c.superDecoder(forKey: .hostSubject).invalid("hosts.spiceTLS.hostSubject must be one line, such as C=DE,O=Example,CN=host1")
        }
    }

    /// Reads the CA file: what a `.vv` file carries.
    public func load() throws(DeskpoolError) -> VirtViewerFile.TLS {
        guard let data = FileManager.default.contents(atPath: caFile), let pem = String(data: data, encoding: .utf8),
              pem.contains("-----BEGIN CERTIFICATE-----") else {
            throw DeskpoolError(.invalidInput, "hosts.spiceTLS.caFile \(caFile) is not a readable PEM certificate")
        }
        return VirtViewerFile.TLS(caPEM: pem, hostSubject: hostSubject)
    }
}
