// swift-tools-version: 6.1
// Patchbay: a userspace virtual L2 switch and vNIC fabric for lab VMs on Linux.

import PackageDescription

let package = Package(
  name: "Patchbay",
  products: [
    .executable(name: "patchbay", targets: ["patchbay"]),
    // The pure layers, for the microbenchmarks in Benchmarks/ForwardingBench (a package of its own).
    .library(name: "PatchbayWire", targets: ["PatchbayWire"]),
    .library(name: "PatchbayCore", targets: ["PatchbayCore"]),
    // The fuzz targets' logic, for the libFuzzer executables in Fuzz/ (a package of its own).
    .library(name: "PatchbayFuzzing", targets: ["PatchbayFuzzing"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
  ],
  targets: [
    // C shims: kernel headers and variadic ioctl are not callable from Swift directly.
    .target(name: "CLinuxNet"),
    .systemLibrary(
      name: "CPcap",
      pkgConfig: "libpcap",
      providers: [.apt(["libpcap-dev"])]
    ),
    // The daemon's system call allow-list.
    .systemLibrary(
      name: "CSeccomp",
      pkgConfig: "libseccomp",
      providers: [.apt(["libseccomp-dev"])]
    ),

    // Pure layers: no I/O, no clock.
    .target(name: "PatchbayWire"),
    .target(name: "PatchbayCore", dependencies: ["PatchbayWire"]),
    .target(
      name: "PatchbayTopology",
      dependencies: ["PatchbayWire", "PatchbayCore", .product(name: "Yams", package: "Yams")],
      // The topology JSON Schema, compiled in: `patchbay schema` reads no file (schema/ links here).
      resources: [.embedInCode("patchbay.schema.json")]
    ),

    // The datapath: epoll, rings, queues, TAP and packet-socket I/O, capture taps, BPF.
    // It knows frames and ports, never the topology.
    .target(
      name: "PatchbayDatapath",
      dependencies: [
        "CLinuxNet", "CPcap", "PatchbayWire", "PatchbayCore",
        .product(name: "SystemPackage", package: "swift-system"),
      ]
    ),
    .target(name: "PatchbayControl", dependencies: ["CLinuxNet", "PatchbayCore"]),
    // A lab: set-up and teardown of ports, hosts, uplinks and VMs from a topology, the
    // privileges, the daemon that runs it and the janitor that outlives it.
    .target(
      name: "PatchbayLab",
      dependencies: [
        "CLinuxNet", "CSeccomp", "PatchbayWire", "PatchbayCore", "PatchbayTopology",
        "PatchbayDatapath", "PatchbayControl",
        .product(name: "SystemPackage", package: "swift-system"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // The command line: commands and rendering only.
    .executableTarget(
      name: "patchbay",
      dependencies: [
        "PatchbayTopology", "PatchbayLab", "PatchbayDatapath", "PatchbayControl", "PatchbayCore",
        "PatchbayWire",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // Fuzz targets as plain functions: libFuzzer drives them from Fuzz/, the tests replay
    // the kept inputs through them. Pure layers only, so no sanitizer build needs libpcap.
    .target(
      name: "PatchbayFuzzing",
      dependencies: ["PatchbayWire", "PatchbayCore", "PatchbayTopology", "PatchbayControl"]
    ),

    .testTarget(name: "PatchbayWireTests", dependencies: ["PatchbayWire"]),
    .testTarget(name: "PatchbayCoreTests", dependencies: ["PatchbayCore", "PatchbayWire"]),
    .testTarget(
      name: "PatchbayTopologyTests",
      dependencies: [
        "PatchbayTopology", "PatchbayCore", "PatchbayWire", .product(name: "Yams", package: "Yams"),
      ],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(name: "PatchbayControlTests", dependencies: ["PatchbayControl", "PatchbayCore"]),
    .testTarget(name: "PatchbayFuzzingTests", dependencies: ["PatchbayFuzzing"]),
    .testTarget(
      name: "PatchbayDatapathTests",
      dependencies: ["PatchbayDatapath", "PatchbayCore", "PatchbayWire"]),
    .testTarget(
      name: "PatchbayLabTests",
      dependencies: [
        "PatchbayLab", "PatchbayDatapath", "PatchbayTopology", "PatchbayCore", "PatchbayWire",
        "PatchbayControl", .product(name: "Logging", package: "swift-log"),
      ]),
    .testTarget(
      name: "PatchbayEndToEndTests",
      dependencies: ["PatchbayWire", "PatchbayTopology"],
      // Helper programs the tests run inside namespaces (flows.py).
      exclude: ["Support"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
