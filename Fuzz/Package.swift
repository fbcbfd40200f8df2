// swift-tools-version: 6.1
// libFuzzer executables for Patchbay's fuzz targets, one per target. A package of
// its own, so the sanitizer-only executables stay out of the main package's build
// and tests. The targets' logic lives in the main package's PatchbayFuzzing library,
// which the main package's tests replay without sanitizers.
//
//   ../Scripts/fuzz TARGET SECONDS      # builds, replays Regressions/, fuzzes from Seeds/
//
// Only builds with the fuzzer sanitizer, which links libFuzzer:
//   swift build -c release --scratch-path .build -Xswiftc -sanitize=fuzzer,address \
//     -Xcc -fsanitize=fuzzer-no-link,address
// (no -parse-as-library: SwiftPM renames an executable's main, so each fuzzer's
// main.swift runs libFuzzer's driver itself.)

import PackageDescription

/// One libFuzzer executable per target, `fuzz-NAME`, from `Sources/fuzz-NAME`.
let targets = [
  "frame", "virtio", "retag", "topology", "control", "nat", "dhcp", "pcapng", "capture",
  "resources",
]

let package = Package(
  name: "PatchbayFuzz",
  products: targets.map { .executable(name: "fuzz-\($0)", targets: ["fuzz-\($0)"]) },
  dependencies: [
    .package(name: "Patchbay", path: "..")
  ],
  targets: [
    // Declares libFuzzer's driver, which each executable's `main` runs.
    .target(name: "FuzzerDriver")
  ]
    + targets.map {
      .executableTarget(
        name: "fuzz-\($0)",
        dependencies: ["FuzzerDriver", .product(name: "PatchbayFuzzing", package: "Patchbay")]
      )
    },
  swiftLanguageModes: [.v6]
)
