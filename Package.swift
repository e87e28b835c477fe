// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "paddock",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "paddock", targets: ["paddock"]),
        .executable(name: "paddock-init", targets: ["paddock-init"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // Already in the graph through hummingbird-websocket; gunzips E2B's gzip-encoded uploads.
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Paddock as an MCP server (`/mcp`, PaddockServer/MCP): the protocol and its streamable-HTTP transport.
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        // Traces (`paddock server --otlp-endpoint`): the tracing API every module emits spans through (already in
        // the graph through Hummingbird) and its OpenTelemetry backend, OTLP/HTTP only so gRPC is not built.
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // Leaf: domain types, the one error type, IDs, sizes and durations.
        .target(name: "PaddockCore", swiftSettings: strict),
        // runtime.yml: schema, loader with line-precise errors, layering.
        .target(
            name: "PaddockConfig",
            dependencies: ["PaddockCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // The host <-> paddock-init wire protocol. No Foundation: paddock-init links it statically.
        .target(name: "PaddockInitProtocol", swiftSettings: strict),
        // The few syscalls Swift's Glibc module lacks.
        .target(name: "CPaddockShim"),
        .target(
            name: "PaddockStore",
            dependencies: [
                "PaddockCore", "PaddockObservability", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PaddockSandbox",
            dependencies: [
                "PaddockCore", "PaddockInitProtocol",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "PaddockLinux",
            dependencies: [
                "PaddockSandbox", "PaddockCore", "PaddockInitProtocol", "CPaddockShim",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The egress gateway: HTTP/CONNECT proxy, policy checks, per-session CA, secret swap. Core only.
        .target(
            name: "PaddockGateway",
            dependencies: [
                "PaddockCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        // Metrics: the names and labels Paddock emits (through swift-metrics, so emitting costs nothing when no
        // backend is bootstrapped) and the Prometheus exporter `paddock server --metrics-listen` serves.
        .target(
            name: "PaddockObservability",
            dependencies: [
                "PaddockCore", .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The services every door uses: sessions, files, changes, reviews, snapshots, templates, runs, access,
        // approvals. Domain values in and out, the caller explicit, auditing inside; no HTTP.
        .target(
            name: "PaddockServices",
            dependencies: [
                "PaddockCore", "PaddockStore", "PaddockSandbox", "PaddockInitProtocol", "PaddockConfig",
                "PaddockGateway", "PaddockObservability",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        // The web UI: server-rendered pages (Mustache templates), their live streams and assets, over
        // PaddockServices. Mounted by PaddockServer on the API's port.
        .target(
            name: "PaddockWeb",
            dependencies: [
                "PaddockServices", "PaddockCore", "PaddockStore", "PaddockConfig",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        // The wire types of the REST /v1 API (request and response bodies, the JSON coders), shared by the server
        // and the CLI so they cannot drift apart. Core only: a client links no server.
        .target(name: "PaddockAPI", dependencies: ["PaddockCore"], swiftSettings: strict),
        // The doors: REST /v1, the E2B API, MCP, auth middleware and the route table, over PaddockServices.
        .target(
            name: "PaddockServer",
            dependencies: [
                "PaddockAPI", "PaddockServices", "PaddockWeb", "PaddockCore", "PaddockStore", "PaddockSandbox",
                "PaddockInitProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // The preview listener is a byte proxy on NIO directly (PaddockServer/Preview).
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        // The client commands (session, exec, cp, submit, reviews, secrets, tokens…) and the HTTP and WebSocket
        // client they share. Speaks the API's wire types; links no server, store or provider. PaddockConfig
        // because `policy check|explain`, `--policy` and `template build --file` read runtime.yml files locally.
        .target(
            name: "PaddockCLI",
            dependencies: [
                "PaddockAPI", "PaddockCore", "PaddockConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The commands that run on the host (`paddock server`, `doctor`, `bench`) and the `paddock` root command
        // that puts them together with the client's. The server command is the composition root: it wires the
        // local provider, the SQLite store and the services into the server.
        .target(
            name: "PaddockHost",
            dependencies: [
                "PaddockCLI", "PaddockCore", "PaddockServer", "PaddockServices", "PaddockStore", "PaddockSandbox",
                "PaddockLinux", "PaddockGateway", "PaddockWeb", "PaddockObservability",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "paddock", dependencies: ["PaddockHost"], swiftSettings: strict),
        // PID 1 inside every sandbox. A fully static executable: it runs on any template's rootfs (even one
        // without glibc), and an idle copy costs about 3 MiB instead of 5.5 with shared libraries.
        .executableTarget(
            name: "paddock-init",
            dependencies: ["PaddockInitProtocol", "CPaddockShim"],
            swiftSettings: strict,
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        .target(
            name: "PaddockTestSupport",
            dependencies: [
                "PaddockAPI", "PaddockCore", "PaddockServices", "PaddockServer", "PaddockStore", "PaddockLinux",
                "PaddockSandbox", "PaddockHost", "PaddockGateway", "PaddockObservability",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Tests/PaddockTestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "PaddockCoreTests", dependencies: ["PaddockCore"], swiftSettings: strict),
        .testTarget(name: "PaddockSandboxTests", dependencies: ["PaddockSandbox"], swiftSettings: strict),
        .testTarget(name: "PaddockConfigTests", dependencies: ["PaddockConfig", "PaddockCore"], swiftSettings: strict),
        .testTarget(
            name: "PaddockGatewayTests",
            dependencies: [
                "PaddockGateway", "PaddockHost", "PaddockCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "PaddockInitProtocolTests", dependencies: ["PaddockInitProtocol"], swiftSettings: strict),
        // Drives the real paddock-init binary as a plain child process (no sandbox needed). The binary is
        // built by `swift build` (make test does that first); depending on the executable target here would
        // link its -static-stdlib flag into the test bundle.
        .testTarget(name: "PaddockInitTests", dependencies: ["PaddockInitProtocol"], swiftSettings: strict),
        // The E2B-compatible API's pure parts: Connect framing, proto3 JSON, multipart, watch diffs.
        .testTarget(
            name: "PaddockE2BTests", dependencies: ["PaddockServer", "PaddockServices", "PaddockSandbox"],
            swiftSettings: strict),
        .testTarget(
            name: "PaddockIntegrationTests",
            dependencies: [
                "PaddockTestSupport", "PaddockAPI", "PaddockServices", "PaddockServer", "PaddockGateway", "PaddockCLI",
                "PaddockHost", "PaddockWeb", "PaddockObservability",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                // MCP tool calls made in-process (the tool arguments' `Value`).
                .product(name: "MCP", package: "swift-sdk"),
            ],
            // Scripts the tests run with the .venv's Python (the MCP client).
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
    ]
)
