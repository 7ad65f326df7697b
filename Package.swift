// swift-tools-version:6.1
import PackageDescription

// Every target builds in the Swift 6 language mode (swift-tools-version 6:
// complete concurrency checking): the daemon's state is `@DaemonActor`,
// isolated to its one queue, and the compiler checks every access.

let package = Package(
    name: "dockward",
    products: [
        .executable(name: "dockward", targets: ["dockward"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        // Already resolved through async-http-client; named for the
        // Alertmanager push's TLS settings (trust roots, client certificate).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        // containerd's API: gRPC over its Unix socket, protobuf messages
        // (Sources/DockwardContainerd/Generated, from Protos/ by `make protos`).
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.0"),
        // No default traits: BinaryDelimitedStreams brings Foundation's
        // streams, and with them all of Foundation and ICU's data (34 MB)
        // into the binary; dockward links FoundationEssentials only.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0", traits: []),
    ],
    targets: [
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // The few system calls several modules share: clocks, descriptor
        // writes, the open-file limit. Glibc only.
        .target(name: "DockwardSystem"),
        // The system's libyaml (yaml-0.1), and the YAML tree composed from
        // its events: config, Compose and kubelet files, with their lines.
        .systemLibrary(
            name: "CLibYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .target(name: "DockwardYAML", dependencies: ["CLibYAML"]),
        // Pure policy: models, config schema and validation, detectors, alerts.
        // No file, socket, clock or signal I/O.
        .target(
            name: "DockwardCore",
            dependencies: ["DockwardYAML"]
        ),
        // cgroupfs and procfs readers; every reader takes a root path.
        .target(
            name: "DockwardCgroup",
            dependencies: ["DockwardCore", "DockwardSystem"]
        ),
        // Docker Engine API over its Unix socket, read-only.
        .target(
            name: "DockwardDocker",
            dependencies: [
                "DockwardCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The host's files outside the cgroup tree: the config file, the
        // state file, host paths as the engine resolves them (realpath,
        // stat, hard links), the engine's configuration files.
        .target(name: "DockwardHost", dependencies: ["DockwardCore", "DockwardSystem"]),
        // The Alertmanager client: the POSTs, their TLS and credentials, the
        // per-URL queues kept through an outage (off the daemon's queue).
        .target(
            name: "DockwardAlertmanager",
            dependencies: [
                "DockwardCore", "DockwardSystem",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // containerd's API over its Unix socket (gRPC), read-only: the event
        // service, containers with their OCI specs, tasks, namespaces.
        .target(
            name: "DockwardContainerd",
            dependencies: [
                "DockwardCore",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The engines dockward knows: each engine module (its runtime and its
        // cgroup names), registered with one line.
        .target(name: "DockwardEngines", dependencies: [
            "DockwardCore", "DockwardDocker", "DockwardContainerd", .product(name: "Logging", package: "swift-log"),
        ]),
        // journald sink and log handler through libsystemd.
        .target(
            name: "DockwardJournal",
            dependencies: [
                "CSystemd", "DockwardCore", "DockwardSystem",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Optional Prometheus endpoint (`metrics.listen`), off by default.
        .target(
            name: "DockwardMetrics",
            dependencies: [
                "DockwardCore",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The operator's commands that read back what the daemon wrote:
        // `dockward alerts` and its table, JSON and summary output.
        .target(
            name: "DockwardCommands",
            dependencies: [
                "DockwardCore", "DockwardJournal", "DockwardSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // One-shot commands with the daemon's own analysis: `dockward audit`
        // (this host, once) and `dockward check-compose` (Compose files
        // before deploy); table, JSON lines and SARIF output.
        .target(
            name: "DockwardAudit",
            dependencies: [
                "DockwardCore", "DockwardCgroup", "DockwardDocker", "DockwardEngines", "DockwardHost", "DockwardSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                "DockwardYAML",
            ]
        ),
        // Wiring: the poll loop, enrichment, signals, shutdown.
        .target(
            name: "DockwardDaemon",
            dependencies: [
                "DockwardCore", "DockwardAlertmanager", "DockwardCgroup", "DockwardDocker", "DockwardEngines", "DockwardHost",
                "DockwardJournal", "DockwardMetrics", "DockwardSystem",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "dockward",
            dependencies: [
                "DockwardDaemon", "DockwardCore", "DockwardCommands", "DockwardAudit", "DockwardHost", "DockwardSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The release binary the .deb and the image ship (their sizes:
            // the README's "Installing"): the Swift toolchain's static-stdlib
            // link exports every symbol of every module (-export-dynamic,
            // 54,886 dynamic symbols, 5.8 MB), which nothing here looks up;
            // lld packs the relative relocations of a PIE (DT_RELR, glibc
            // 2.36+: 2.6 MB of .rela.dyn down to 22 KB), which gold cannot.
            linkerSettings: [
                .unsafeFlags(["-use-ld=lld", "-Xlinker", "--no-export-dynamic",
                              "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                             .when(platforms: [.linux], configuration: .release)),
            ]
        ),
        // `make bench`: the daemon's poll path on real cgroups, no engine.
        .executableTarget(
            name: "dockward-bench",
            dependencies: [
                "DockwardDaemon", "DockwardCore", "DockwardCgroup", "DockwardDocker", "DockwardSystem",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Shared by the test targets: running tools without Foundation's
        // Process, the CI-or-skip rule, the repository and the built binary.
        .target(name: "DockwardTestSupport", dependencies: ["DockwardCore"], path: "Tests/DockwardTestSupport"),
        .testTarget(name: "DockwardCoreTests", dependencies: ["DockwardCore", "DockwardTestSupport"]),
        .testTarget(
            name: "DockwardCgroupTests",
            dependencies: ["DockwardCgroup", "DockwardEngines", "DockwardTestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "DockwardDockerTests", dependencies: ["DockwardDocker", "DockwardTestSupport"]),
        // The containerd module against a scripted containerd: the same
        // generated services served over a Unix socket in the test.
        .testTarget(
            name: "DockwardContainerdTests",
            dependencies: [
                "DockwardContainerd", "DockwardCore", "DockwardTestSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The wiring, in-process: a fake engine behind `EngineAPI`, fixture
        // cgroup trees and a recording outlet. No root, no engine, no journald.
        .testTarget(
            name: "DockwardDaemonTests",
            dependencies: [
                "DockwardDaemon", "DockwardAlertmanager", "DockwardCore", "DockwardCgroup", "DockwardDocker", "DockwardEngines",
                "DockwardHost", "DockwardMetrics", "DockwardSystem", "DockwardTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Golden"]
        ),
        // The Alertmanager client against a real Alertmanager (Debian's).
        .testTarget(
            name: "DockwardAlertmanagerTests",
            dependencies: ["DockwardAlertmanager", "DockwardCore", "DockwardSystem", "DockwardTestSupport"]
        ),
        .testTarget(name: "DockwardHostTests", dependencies: ["DockwardHost", "DockwardCore", "DockwardSystem", "DockwardTestSupport"]),
        .testTarget(name: "DockwardJournalTests", dependencies: ["DockwardJournal", "DockwardCore", "DockwardTestSupport"]),
        .testTarget(name: "DockwardSystemTests", dependencies: ["DockwardSystem"]),
        .testTarget(name: "DockwardYAMLTests", dependencies: ["DockwardYAML"]),
        .testTarget(name: "DockwardCommandsTests", dependencies: ["DockwardCommands", "DockwardJournal", "DockwardCore"]),
        // Compose tables, a table host, and the differential check against
        // Debian's docker-compose (`docker-compose config`) on the corpus in
        // Tests/ComposeCorpus (the end-to-end tests deploy it too).
        .testTarget(
            name: "DockwardAuditTests",
            dependencies: ["DockwardAudit", "DockwardCore", "DockwardDocker", "DockwardTestSupport",
                           "DockwardYAML"],
            exclude: ["Golden"]
        ),
        .testTarget(name: "DockwardMetricsTests", dependencies: ["DockwardMetrics", "DockwardTestSupport"]),
        .testTarget(
            name: "PackagingTests",
            dependencies: ["DockwardCore", "DockwardJournal", "DockwardMetrics", "DockwardTestSupport"],
            exclude: ["Golden"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["DockwardTestSupport"]
        ),
    ]
)
