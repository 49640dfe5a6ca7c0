import DeskpoolCore
import Foundation
import Testing

@Suite("Configuration file")
struct ConfigurationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("the shipped etc/deskpool.yaml decodes to the built-in defaults")
    func shippedFileIsTheDefaults() throws {
        let file = Self.repository.appendingPathComponent("etc/deskpool.yaml").path
        let decoded = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, file: file)
        #expect(decoded == DeskpoolConfiguration())
    }

    @Test("the shipped etc/pam.d/deskpool is what doctor --fix installs")
    func shippedPAMFile() throws {
        let file = Self.repository.appendingPathComponent("etc/pam.d/deskpool").path
        #expect(try String(contentsOfFile: file, encoding: .utf8) == PAMServiceFile.contents)
    }

    @Test("set values are taken, missing ones keep their defaults")
    func partialFile() throws {
        let yaml = """
            hosts:
              - name: lab1
                uri: test:///default
                acceleration: tcg
            authentication:
              pamService: vdi-login
              loginTimeoutSeconds: 20
            """
        let configuration = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: yaml)
        #expect(configuration.hosts.map(\.name) == ["lab1"])
        #expect(configuration.hosts[0].uri == "test:///default")
        #expect(configuration.hosts[0].acceleration == .tcg)
        #expect(configuration.hosts[0].storagePool == "deskpool")
        #expect(configuration.hosts[0].maxConcurrentOperations == 4)
        #expect(configuration.broker.backoffBaseSeconds == 5)
        #expect(configuration.authentication.pamService == "vdi-login")
        #expect(configuration.authentication.loginTimeoutSeconds == 20)
        #expect(configuration.authentication.maxConcurrentLogins == 256)
        #expect(configuration.authentication.challengeSeconds == 120)
        #expect(configuration.stateDirectory == "/var/lib/deskpool")
    }

    @Test("bad files are rejected whole, with the line and the reason", arguments: [
        ("hosts:\n- uri: qemu:///system\n  storagePool: x\n  storagPol: x\n", ConfigurationError.Code.unknownKey, 4, "storagPol"),
        ("hypervisor: qemu:///system\n", .unknownKey, 1, "hypervisor"),
        ("hosts:\n- name: a\n- name: a\n", .invalidValue, 2, "used twice"),
        ("hosts: []\n", .invalidValue, 1, "at least one host"),
        ("hosts:\n- maxConcurrentOperations: 0\n", .invalidValue, 2, "between 1 and 64"),
        ("broker:\n  backoffBaseSecs: 3\n", .unknownKey, 2, "backoffBaseSecs"),
        ("stateDirectory: relative/path\n", .invalidValue, 1, "absolute"),
        ("hosts:\n- acceleration: fast\n", .invalidValue, 2, "auto, kvm or tcg"),
        ("hosts:\n- storagePool: \"../etc\"\n", .invalidValue, 2, "storagePool"),
        ("authentication:\n  pamService: \"de skpool\"\n", .invalidValue, 2, "pamService"),
        ("authentication:\n  maxConcurrentLogins: many\n", .invalidValue, 2, "maxConcurrentLogins"),
        ("authentication:\n\n  loginTimeoutSeconds: 0\n", .invalidValue, 3, "between 1 and 300"),
        ("gateway:\n  listen: gw.example\n", .invalidValue, 2, "IP address"),
        ("gateway:\n  maxTunnels: 0\n", .invalidValue, 2, "between 1 and"),
        ("gateway:\n  publicAddresses:\n  - networks: [10.0.0.0/33]\n    proxy: http://gw:3128\n", .invalidValue, 3, "not a network"),
        ("gateway:\n  publicAddresses:\n  - networks: [10.0.0.0/8]\n    proxy: \"http://gw:3128\\nx=y\"\n", .invalidValue, 4, "http://HOST:PORT"),
        ("hosts:\n- consoleListen: 0.0.0.0\n", .invalidValue, 2, "consoleAddress"),
        ("hosts:\n- spiceTLS:\n    caFile: ca.pem\n    hostSubject: CN=x\n", .invalidValue, 3, "absolute path"),
        ("http:\n  listen: portal.example\n", .invalidValue, 2, "IP address"),
        ("http:\n  port: 0\n", .invalidValue, 2, "between 1 and 65535"),
        ("http:\n  tls:\n    certificateFile: cert.pem\n    keyFile: /k.pem\n", .invalidValue, 3, "absolute path"),
        ("http:\n  maxBodyBytes: 10\n", .invalidValue, 2, "between 1024"),
        ("http:\n  loginThrottle:\n    baseDelaySeconds: 60\n    maxDelaySeconds: 30\n", .invalidValue, 3, "must not exceed"),
        ("http:\n  sesionHours: 3\n", .unknownKey, 2, "sesionHours"),
        ("store:\n  url: mysql://deskpool@db/deskpool\n", .invalidValue, 2, "postgres:// URL"),
        ("store:\n  url: \"postgres://deskpool:hunter2@db/deskpool\"\n", .invalidValue, 2, "holds a password"),
        ("store:\n  passwordFile: db-password\n", .invalidValue, 2, "absolute path"),
        ("store:\n  uri: postgres://deskpool@db/deskpool\n", .unknownKey, 2, "uri"),
        ("hosts: [\n", .malformed, 2, "not valid YAML"),
        ("", .malformed, 1, "empty"),
    ])
    func rejected(yaml: String, code: ConfigurationError.Code, line: Int, mention: String) throws {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: yaml, file: "deskpool.yaml")
        }
        #expect(error?.code == code)
        #expect(error?.line == line)
        #expect(error?.description.contains(mention) == true)
        #expect(error?.description.hasPrefix("deskpool.yaml:") == true)
    }

    @Test("a password in store.url is refused without repeating it")
    func storePasswordNotRepeated() {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: "store:\n  url: postgres://d:hunter2@db/d\n")
        }
        #expect(error?.description.contains("hunter2") == false)
    }

    @Test("the store's password: the environment first, else a file only its owner (and group) may read")
    func storePassword() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deskpool-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("db-password").path
        try "s3cret\nignored\n".write(toFile: file, atomically: true, encoding: .utf8)
        let store = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: """
            store:
              url: postgres://deskpool@db.example/deskpool?sslmode=verify-full
              passwordFile: \(file)
            """).store
        #expect(store.url == "postgres://deskpool@db.example/deskpool?sslmode=verify-full")
        chmod(file, 0o640)
        #expect(try store.password(environment: [:]) == "s3cret")
        #expect(try store.password(environment: ["DESKPOOL_STORE_PASSWORD": "from-env"]) == "from-env")
        chmod(file, 0o644)
        let error = #expect(throws: ConfigurationError.self) { try store.password(environment: [:]) }
        #expect(error?.description.contains("may be read by others") == true)
        #expect(error?.description.contains("s3cret") == false)
        #expect(try StoreConfiguration().password(environment: [:]) == nil)
    }

    @Test("the gateway's proxy address per client network")
    func gatewayAddresses() throws {
        let yaml = """
            gateway:
              listen: 0.0.0.0
              port: 3128
              publicAddresses:
                - networks: [10.0.0.0/8, "fd00::/8"]
                  proxy: http://gw.internal:3128
                - networks: []
                  proxy: http://gw.example.org:443
            """
        let gateway = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: yaml).gateway
        #expect(gateway.proxy(forClient: "10.20.30.40") == "http://gw.internal:3128")
        #expect(gateway.proxy(forClient: "fd12::1") == "http://gw.internal:3128")
        #expect(gateway.proxy(forClient: "198.51.100.1") == "http://gw.example.org:443")
        #expect(gateway.proxy(forClient: nil) == "http://gw.example.org:443")
        #expect(GatewayConfiguration().proxy(forClient: "10.0.0.1") == "http://127.0.0.1:8081")
    }

    @Test("safe names", arguments: [
        ("deskpool", true), ("eng-pool_1.a", true), ("9lives", true),
        ("", false), ("-x", false), ("../x", false), ("a/b", false), ("a b", false), ("é", false),
        (String(repeating: "a", count: 65), false),
    ])
    func safeNames(name: String, safe: Bool) {
        #expect(DeskpoolConfiguration.isSafeName(name) == safe)
    }
}
