import DeskpoolCore
import Testing

/// The gateway's settings for browser consoles: which pages may use the relay, where a page
/// finds it, and how the keys are checked.
@Suite("Browser relay configuration")
struct BrowserRelayConfigurationTests {
    @Test("by default a page may use the relay when it comes from the host name the relay is reached at", arguments: [
        ("http://127.0.0.1:8080", "127.0.0.1:8081", true),
        ("https://desktops.example.org", "desktops.example.org:8081", true),
        ("http://DESKTOPS.example.org:80", "desktops.example.org", true),
        ("http://[::1]:8080", "[::1]:8081", true),
        ("http://evil.example.org", "desktops.example.org:8081", false),
        ("http://desktops.example.org.evil.example.org", "desktops.example.org:8081", false),
        ("null", "127.0.0.1:8081", false),
        ("file://", "127.0.0.1:8081", false),
        ("http://user@127.0.0.1:8080", "127.0.0.1:8081", false),
        ("http://127.0.0.1:8080/path", "127.0.0.1:8081", false),
        ("", "127.0.0.1:8081", false),
    ])
    func defaultOrigins(origin: String, host: String, allowed: Bool) {
        #expect(GatewayConfiguration().allowsOrigin(origin, relayHost: host) == allowed)
    }

    @Test("with allowedOrigins, exactly those (case aside), whatever the host")
    func configuredOrigins() throws {
        let configuration = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: """
            gateway:
              allowedOrigins: [https://desktops.example.org, "http://kiosk.lan:8080"]
            """).gateway
        #expect(configuration.allowsOrigin("https://desktops.example.org", relayHost: "gw.internal:8081"))
        #expect(configuration.allowsOrigin("HTTP://kiosk.lan:8080", relayHost: "gw.internal:8081"))
        #expect(!configuration.allowsOrigin("http://gw.internal:8080", relayHost: "gw.internal:8081"), "the default rule no longer applies")
        #expect(!configuration.allowsOrigin("https://desktops.example.org:8443", relayHost: "gw.internal:8081"))
    }

    @Test("an allowedOrigins entry that is not an origin is refused with its key", arguments: [
        "desktops.example.org", "https://desktops.example.org/portal", "ftp://x", "https://a b",
    ])
    func badOrigin(origin: String) {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: "gateway:\n  allowedOrigins: [\"\(origin)\"]\n")
        }
        #expect(error?.message.contains("gateway.allowedOrigins") == true)
    }

    @Test("gateway.tls needs absolute paths, and says so under its own key")
    func tlsPaths() {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try YAMLConfigDecoder.decode(DeskpoolConfiguration.self, yaml: "gateway:\n  tls:\n    certificateFile: cert.pem\n    keyFile: /k.pem\n")
        }
        #expect(error?.message == "gateway.tls.certificateFile must be an absolute path")
    }

    @Test("a page finds the relay at the public address for its network, else at its own host name and the gateway's port")
    func relayAddress() throws {
        var configuration = GatewayConfiguration()
        #expect(configuration.browserRelay(forClient: "10.1.2.3") == (nil, 8081))
        configuration.publicAddresses = [.init(networks: [try #require(IPNetwork("10.0.0.0/8"))], proxy: "http://gw.lan:3128"),
                                         .init(networks: [try #require(IPNetwork("192.168.0.0/16"))], proxy: "http://[fd00::1]:8081")]
        #expect(configuration.browserRelay(forClient: "10.1.2.3") == ("gw.lan", 3128))
        #expect(configuration.browserRelay(forClient: "192.168.4.4") == ("fd00::1", 8081))
        #expect(configuration.browserRelay(forClient: "203.0.113.9") == (nil, 8081), "no entry for everyone: the page's own host")
        #expect(configuration.maxTunnels == 32_768, "4,000 idle consoles of 8 channels")
    }
}
