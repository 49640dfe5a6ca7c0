import DeskpoolCore
import Foundation
import Testing

@Suite("Connect tokens")
struct ConnectTokenTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let desktop = "3f2b8c1e-9a4d-4c3b-8f1e-2d5a6b7c8d9e"
    static let session = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"

    @Test("a signed token verifies and carries desktop, session and expiry; its text is a host name")
    func roundTrip() throws {
        let key = ConnectTokenKey.random()
        let token = ConnectToken(desktop: Self.desktop, session: Self.session, expires: Self.now.addingTimeInterval(300))
        let text = token.signed(with: key)
        let back = try ConnectToken.verify(text, key: key, now: Self.now)
        #expect(back == token)
        #expect(text.split(separator: ".").allSatisfy { $0.count <= 63 && !$0.isEmpty })
        #expect(text.allSatisfy { ("a"..."z").contains($0) || ("2"..."7").contains($0) || $0 == "." })
        // Clients may change case (host names are case-insensitive).
        #expect(try ConnectToken.verify(text.uppercased(), key: key, now: Self.now) == token)
    }

    @Test("ids that are not UUIDs travel too")
    func otherIDs() throws {
        let key = ConnectTokenKey.random()
        let token = ConnectToken(desktop: "d1", session: "session-Ä", expires: Self.now.addingTimeInterval(60))
        #expect(try ConnectToken.verify(token.signed(with: key), key: key, now: Self.now) == token)
    }

    @Test("expired, signed with another key, tampered or garbage: refused with the reason")
    func refusals() throws {
        let key = ConnectTokenKey.random()
        let token = ConnectToken(desktop: Self.desktop, session: Self.session, expires: Self.now.addingTimeInterval(30))
        let text = token.signed(with: key)
        #expect(throws: ConnectToken.Refusal.expired) { try ConnectToken.verify(text, key: key, now: Self.now.addingTimeInterval(31)) }
        #expect(throws: ConnectToken.Refusal.badSignature) { try ConnectToken.verify(text, key: .random(), now: Self.now) }
        // Flip one character of the payload: the signature no longer matches.
        var characters = Array(text)
        characters[10] = characters[10] == "a" ? "b" : "a"
        #expect(throws: ConnectToken.Refusal.badSignature) { try ConnectToken.verify(String(characters), key: key, now: Self.now) }
        for garbage in ["127.0.0.1", "", "localhost", String(repeating: "a", count: 500), "zz!!"] {
            #expect(throws: ConnectToken.Refusal.self) { try ConnectToken.verify(garbage, key: key, now: Self.now) }
        }
    }

    @Test("the key file is created once with mode 0600 and read back")
    func keyFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-key-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("console-token.key").path
        let first = try ConnectTokenKey.load(orCreateAt: path)
        let second = try ConnectTokenKey.load(orCreateAt: path)
        let token = ConnectToken(desktop: "d", session: "s", expires: Self.now.addingTimeInterval(60))
        #expect(try ConnectToken.verify(token.signed(with: first), key: second, now: Self.now) == token)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
