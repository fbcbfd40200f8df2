// swift-tools-version: 6.1
// TEMPORARY snapshot of /work/main's PatchbayWire + PatchbayCore (HEAD e24bf22) with library products; delete before handing over.
import PackageDescription
let package = Package(
  name: "Patchbay",
  products: [
    .library(name: "PatchbayCore", targets: ["PatchbayCore"]),
    .library(name: "PatchbayWire", targets: ["PatchbayWire"]),
  ],
  targets: [
    .target(name: "PatchbayWire"),
    .target(name: "PatchbayCore", dependencies: ["PatchbayWire"]),
  ],
  swiftLanguageModes: [.v6]
)
