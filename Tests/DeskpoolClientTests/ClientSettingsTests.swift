import DeskpoolClient
import Foundation
import Testing

@Suite struct ClientSettingsTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-client-tests-\(UUID().uuidString)").path

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func savesWithMode0600InADirectoryOf0700() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/deskpool/client.json"
        let settings = ClientSettings(server: "http://127.0.0.1:8080", user: "alice", token: "s3cret-token", admin: true,
                                      expiresAt: Date(timeIntervalSince1970: 1_800_000_000))
        try settings.save(to: path)
        #expect(try mode(path) == 0o600)
        #expect(try mode(directory + "/deskpool") == 0o700)
        #expect(try ClientSettings.load(from: path) == settings)
        // Saving again replaces the file and keeps the mode; no temporary file is left.
        try settings.loggedOut().save(to: path)
        #expect(try mode(path) == 0o600)
        #expect(try ClientSettings.load(from: path) == ClientSettings(server: "http://127.0.0.1:8080"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/deskpool") == ["client.json"])
    }

    @Test func tightensAWideDeskpoolDirectoryAndFile() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let folder = directory + "/deskpool"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        _ = FileManager.default.createFile(atPath: folder + "/client.json", contents: Data("{}".utf8), attributes: [.posixPermissions: 0o644])
        try ClientSettings(server: "http://h:1", token: "t").save(to: folder + "/client.json")
        #expect(try mode(folder) == 0o700)
        #expect(try mode(folder + "/client.json") == 0o600)
    }

    @Test func missingFileIsNoSettingsAndABadOneIsAnError() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try ClientSettings.load(from: directory + "/none.json") == nil)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: directory + "/bad.json", contents: Data("not json".utf8))
        #expect(throws: SettingsError.self) { try ClientSettings.load(from: directory + "/bad.json") }
    }

    @Test func theTokenIsNeverInADescription() {
        let settings = ClientSettings(server: "http://h:1", user: "alice", token: "s3cret-token")
        #expect(!String(describing: settings).contains("s3cret"))
        #expect(!String(reflecting: settings).contains("s3cret"))
        var dumped = ""
        dump(settings, to: &dumped)
        #expect(!dumped.contains("s3cret"))
    }

    @Test func pathComesFromTheEnvironmentOrHome() {
        #expect(ClientSettings.defaultPath(environment: ["DESKPOOL_CLIENT_CONFIG": "/x/y.json", "HOME": "/home/a"]) == "/x/y.json")
        #expect(ClientSettings.defaultPath(environment: ["HOME": "/home/a"]) == "/home/a/.config/deskpool/client.json")
    }
}
