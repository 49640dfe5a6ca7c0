// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Deskpool",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "deskpool", targets: ["deskpool"]),
        .library(name: "Libvirt", targets: ["Libvirt"]),
        .library(name: "PAM", targets: ["PAM"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // MARK: - C libraries, imported internally by their Swift faces
        .systemLibrary(
            name: "CLibvirt",
            pkgConfig: "libvirt",
            providers: [.apt(["libvirt-dev"])]
        ),
        // spice-protocol's headers (no library): the link message the gateway reads.
        .systemLibrary(
            name: "CSpiceProtocol",
            pkgConfig: "spice-protocol",
            providers: [.apt(["libspice-protocol-dev"])]
        ),
        .systemLibrary(
            name: "CPAM",
            pkgConfig: "pam",
            providers: [.apt(["libpam0g-dev"])]
        ),

        // MARK: - Swift faces of the C libraries (no broker concepts)
        .target(
            name: "Libvirt",
            dependencies: [
                "CLibvirt",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PAM",
            dependencies: ["CPAM"],
            swiftSettings: swiftSettings
        ),

        // MARK: - Deskpool
        .target(
            name: "DeskpoolCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP API, the portal and /metrics (Hummingbird).
        .target(
            name: "DeskpoolServer",
            dependencies: [
                "DeskpoolCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        // The API's client: the `deskpool` admin commands, `deskpool connect`, the login storm.
        .target(
            name: "DeskpoolClient",
            dependencies: [
                "DeskpoolCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DeskpoolGateway",
            dependencies: [
                "DeskpoolCore",
                "CSpiceProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DeskpoolLibvirt",
            dependencies: ["DeskpoolCore", "Libvirt"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DeskpoolPAM",
            dependencies: ["DeskpoolCore", "PAM"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DeskpoolStore",
            dependencies: [
                "DeskpoolCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fakes, conformance suites and the broker harness: what a test needs without a host.
        .target(
            name: "DeskpoolTesting",
            dependencies: ["Libvirt", "DeskpoolCore", "DeskpoolLibvirt", "DeskpoolStore",
                           .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The rigs of the real tiers: libvirt sandboxes, real PAM users, remote-viewer under
        // Xvfb, SPICE TLS, screen OCR, and which tiers this machine can run (TestTier).
        .target(
            name: "DeskpoolTestRigs",
            dependencies: ["Libvirt", "DeskpoolCore", "DeskpoolLibvirt", "DeskpoolTesting"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "deskpool",
            dependencies: [
                "DeskpoolCore",
                "DeskpoolClient",
                "DeskpoolGateway",
                "DeskpoolLibvirt",
                "DeskpoolPAM",
                "DeskpoolServer",
                "DeskpoolStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Benchmarks
        .executableTarget(
            name: "LibvirtBench",
            dependencies: ["Libvirt"],
            path: "Benchmarks/LibvirtBench",
            swiftSettings: swiftSettings
        ),

        // `--key value` options and report helpers shared by the benchmarks.
        .target(
            name: "BenchSupport",
            path: "Benchmarks/BenchSupport",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "BrokerBench",
            dependencies: [
                "BenchSupport", "DeskpoolCore", "DeskpoolLibvirt", "DeskpoolStore", "Libvirt",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/BrokerBench",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "PolicyBench",
            dependencies: [
                "BenchSupport", "DeskpoolCore", "DeskpoolLibvirt", "DeskpoolStore", "Libvirt",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/PolicyBench",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "LoginStormBench",
            dependencies: [
                "BenchSupport", "DeskpoolCore", "DeskpoolServer", "DeskpoolPAM", "DeskpoolLibvirt", "DeskpoolStore", "Libvirt", "PAM",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/LoginStormBench",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "GatewayBench",
            dependencies: [
                "BenchSupport", "DeskpoolCore", "DeskpoolGateway",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/GatewayBench",
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        .testTarget(
            name: "LibvirtTests",
            dependencies: ["Libvirt", "DeskpoolLibvirt", "DeskpoolTesting", "DeskpoolTestRigs"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PAMTests",
            dependencies: ["PAM", "DeskpoolPAM", "DeskpoolCore", "DeskpoolTesting", "DeskpoolTestRigs"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeskpoolStoreTests",
            dependencies: ["DeskpoolStore", "DeskpoolTesting", "DeskpoolTestRigs"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeskpoolSystemTests",
            dependencies: ["DeskpoolCore", "DeskpoolGateway", "DeskpoolLibvirt", "DeskpoolStore", "DeskpoolTesting", "DeskpoolTestRigs", "Libvirt"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeskpoolGatewayTests",
            dependencies: ["DeskpoolGateway", "DeskpoolCore", "CSpiceProtocol", "DeskpoolTesting", "DeskpoolTestRigs",
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeskpoolServerTests",
            dependencies: ["DeskpoolServer", "DeskpoolClient", "DeskpoolCore", "DeskpoolStore", "DeskpoolTesting", "DeskpoolTestRigs",
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeskpoolClientTests",
            dependencies: ["DeskpoolClient", "DeskpoolCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeskpoolCoreTests",
            dependencies: ["DeskpoolCore", "DeskpoolLibvirt", "DeskpoolStore", "DeskpoolTesting", "DeskpoolTestRigs"],
            // Golden .vv files, read by path (#filePath) like the other fixtures.
            exclude: ["Golden"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
