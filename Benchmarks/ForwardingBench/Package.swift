// swift-tools-version: 6.1
// Microbenchmarks of Patchbay's per-frame forwarding decision (ordo-one/benchmark):
// instructions and allocations per frame. A package of its own, so the benchmark
// dependency and its malloc interposer stay out of the main package's build and tests.
//
//   swift package --disable-sandbox benchmark      # run the benchmarks (release build)
//   ./measure-instructions.sh                      # instructions per frame under callgrind

import PackageDescription

let package = Package(
  name: "ForwardingBench",
  dependencies: [
    .package(name: "Patchbay", path: "../.."),
    // Only the MallocInterposer trait: the default RuntimeInterposer trait pulls in
    // swift-runtime-interposer, which the local package mirror does not have.
    .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    // The bridge, its filled MAC table and the ring of frames, shared by the
    // benchmark and by the instruction counter.
    .target(
      name: "ForwardingFixtures",
      dependencies: [
        .product(name: "PatchbayCore", package: "Patchbay"),
        .product(name: "PatchbayWire", package: "Patchbay"),
      ]
    ),
    .executableTarget(
      name: "Forwarding",
      dependencies: [
        "ForwardingFixtures",
        .product(name: "PatchbayCore", package: "Patchbay"),
        .product(name: "Benchmark", package: "benchmark"),
      ],
      path: "Benchmarks/Forwarding",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
    // Runs K frames of one scenario, for measure-instructions.sh (valgrind).
    .executableTarget(
      name: "ForwardingCount",
      dependencies: ["ForwardingFixtures", .product(name: "PatchbayCore", package: "Patchbay")]
    ),
  ],
  swiftLanguageModes: [.v6]
)
