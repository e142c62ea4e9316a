// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Crucible",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "crucible", targets: ["crucible"]),
        .library(name: "CrucibleCore", targets: ["CrucibleCore"]),
        .library(name: "CrucibleClient", targets: ["CrucibleClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", "5.0.1"..<"7.0.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator.git", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        .target(
            name: "CrucibleCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CrucibleProof",
            // CompressNIO inflates the PNG frames that proof of render compares pixel by pixel.
            dependencies: ["CrucibleCore", "CChallengeKernels", .product(name: "CompressNIO", package: "compress-nio")],
            swiftSettings: strictSettings
        ),
        // The challenge generator, row hash and Merkle levels in C, shared with the CUDA backend's kernels, and the
        // CPU solver's vector int8 products.
        .target(name: "CChallengeKernels"),
        .target(name: "CrucibleMarket", dependencies: ["CrucibleCore"], swiftSettings: strictSettings),
        .target(name: "CrucibleLedger", dependencies: ["CrucibleCore"], swiftSettings: strictSettings),
        .target(name: "CrucibleSim", dependencies: ["CrucibleCore", "CrucibleProof", "CrucibleLedger", "CrucibleMarket"], swiftSettings: strictSettings),
        .target(
            name: "CrucibleStore",
            dependencies: [
                "CrucibleCore", "CrucibleLedger",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Fixtures the tests share: a throwaway PostgreSQL server.
        .target(
            name: "CrucibleTestSupport",
            dependencies: [
                "CrucibleCore",
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CrucibleAPI",
            dependencies: [.product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .target(
            name: "CrucibleCoordinator",
            dependencies: [
                "CrucibleCore", "CrucibleProof", "CrucibleMarket", "CrucibleLedger", "CrucibleStore", "CrucibleAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            // The explorer's page templates.
            resources: [.copy("Resources")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CrucibleClient",
            dependencies: [
                "CrucibleCore", "CrucibleAPI",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CrucibleAgent",
            dependencies: [
                "CrucibleCore", "CrucibleProof", "CrucibleClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            // The challenge worker and its CUDA kernels; CChallengeKernels compiles the same challenge_kernels.h.
            resources: [.copy("Resources")],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "crucible",
            dependencies: [
                "CrucibleCore", "CrucibleLedger", "CrucibleStore", "CrucibleCoordinator", "CrucibleAgent", "CrucibleClient", "CrucibleAPI",
                "CrucibleProof", "CrucibleSim", "CrucibleMarket",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "CrucibleCoreTests", dependencies: ["CrucibleCore", "CrucibleTestSupport", .product(name: "PropertyBased", package: "swift-property-based")]),
        .testTarget(
            name: "CrucibleProofTests",
            dependencies: [
                "CrucibleProof", "CrucibleCore", "CChallengeKernels", "CrucibleTestSupport",
                .product(name: "CompressNIO", package: "compress-nio"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["challenge-vectors.json"]
        ),
        .testTarget(name: "CrucibleMarketTests", dependencies: ["CrucibleMarket", "CrucibleCore", "CrucibleTestSupport"]),
        .testTarget(name: "CrucibleSimTests", dependencies: ["CrucibleSim", "CrucibleProof", "CrucibleCore", "CrucibleLedger", "CrucibleMarket", "CrucibleTestSupport"]),
        .testTarget(
            name: "CrucibleLedgerTests",
            dependencies: ["CrucibleLedger", "CrucibleCore", "CrucibleTestSupport", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(name: "CrucibleStoreTests", dependencies: ["CrucibleStore", "CrucibleCore", "CrucibleLedger", "CrucibleTestSupport"]),
        .testTarget(
            name: "CrucibleCoordinatorTests",
            dependencies: [
                "CrucibleCoordinator", "CrucibleClient", "CrucibleAgent", "CrucibleCore", "CrucibleStore", "CrucibleLedger", "CrucibleAPI",
                "CrucibleProof", "CrucibleTestSupport",
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "CrucibleCommandTests",
            dependencies: ["crucible", "CrucibleCore", "CrucibleClient", "CrucibleTestSupport"]
        ),
        .testTarget(name: "CrucibleAgentTests", dependencies: ["CrucibleAgent", "CrucibleClient", "CrucibleCore", "CrucibleTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
