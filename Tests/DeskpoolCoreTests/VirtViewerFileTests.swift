import DeskpoolCore
import Foundation
import Testing

/// `.vv` files: one golden file per console policy, and hostile names that try to add keys.
@Suite("virt-viewer files")
struct VirtViewerFileTests {
    static let ticket = ConsoleTicket(secret: "Zm9vYmFyYmF6cXV4LTEyMzQ1")
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func file(_ policy: ConsoleSettings, host: String = "10.0.0.5", port: Int? = 5901, tlsPort: Int? = nil, proxy: String? = nil,
                     tls: VirtViewerFile.TLS? = nil, desktop: String = "eng-001", pool: String = "eng") -> VirtViewerFile {
        VirtViewerFile(host: host, port: port, tlsPort: tlsPort, password: ticket, desktop: desktop, pool: pool, policy: policy, proxy: proxy, tls: tls)
    }

    static var usbPolicy: ConsoleSettings {
        var policy = ConsoleSettings()
        policy.usbRedirection = true
        policy.usbAutoShare = true
        policy.usbFilter = "0x03,-1,-1,-1,0|-1,-1,-1,-1,1"
        policy.smartcard = true
        policy.fullscreen = true
        policy.secureAttentionKey = "ctrl+alt+del"
        return policy
    }

    static let cases: [(name: String, file: VirtViewerFile)] = [
        ("direct-default", file(ConsoleSettings())),
        ("gateway", file(ConsoleSettings(), host: "token-label-one.token-label-two", proxy: "http://gw.example.org:8081")),
        ("usb-smartcard-fullscreen", file(usbPolicy)),
        ("tls", file(ConsoleSettings(), port: nil, tlsPort: 5902,
                     tls: .init(caPEM: "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n", hostSubject: "C=XX,O=Deskpool,CN=host1"))),
    ]

    @Test("each console policy renders its golden file", arguments: cases.map(\.name))
    func goldenFiles(name: String) throws {
        let rendered = try #require(Self.cases.first { $0.name == name }).file.text
        // The golden files are written by hand: a change to them is a reviewed change of what
        // clients receive, never something a test run does by itself.
        let path = Self.golden.appendingPathComponent("\(name).vv")
        let expected = try String(contentsOf: path, encoding: .utf8)
        #expect(rendered == expected, "\(path.path) differs; if the change is wanted, put this into it by hand:\n\(rendered)")
    }

    /// Key names of a rendered file, as GLib's key-file parser sees them (one per line).
    static func keys(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().compactMap { line in
            line.firstIndex(of: "=").map { String(line[..<$0]) }
        }
    }

    @Test("a name with a newline, '=', a carriage return or a NUL cannot add or change a key", arguments: [
        "eng-001\nproxy=http://evil.example:3128", "eng\r\nhost=evil", "x=y\u{0}password=leak", "eng\u{2028}ca=bad", "eng\\nproxy=evil",
    ])
    func injection(name: String) throws {
        let file = Self.file(ConsoleSettings(), desktop: name, pool: name)
        let keys = Self.keys(file.text)
        #expect(keys == Self.keys(Self.file(ConsoleSettings()).text), "the same keys as for a plain name")
        #expect(file.text.hasPrefix("[virt-viewer]\n"))
        let lines = file.text.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("proxy=") || $0.hasPrefix("host=evil") || $0.hasPrefix("password=leak") }.isEmpty)
        #expect(!file.text.contains("\r") && !file.text.contains("\u{0}"))
    }

    @Test("file names keep only safe characters")
    func fileName() {
        #expect(VirtViewerFile.fileName(desktop: "eng-001") == "deskpool-eng-001.vv")
        #expect(VirtViewerFile.fileName(desktop: "../../etc/passwd\n") == "deskpool-.._.._etc_passwd_.vv")
    }

    @Test("a ticket is 24 base64url characters, fresh each time, and never printed")
    func tickets() {
        let tickets = (0..<200).map { _ in ConsoleTicket.mint() }
        #expect(Set(tickets.map(\.secret)).count == 200)
        for ticket in tickets {
            #expect(ticket.secret.count == 24)  // 144 bits
            #expect(ticket.secret.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            #expect("\(ticket)" == "<console ticket>")
        }
    }
}
