import Foundation
import Testing

/// `Scripts/check-packages`: every program the scripts and the tests run comes from a
/// Debian package that an `ensure_packages` line installs, or that every Debian has.
/// Needs no root, but the programs' packages installed (`sudo Scripts/test` installs
/// them first), since it asks dpkg which package holds each program.
@Suite struct PackageCheckTests {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
  static let script = repository.appendingPathComponent("Scripts/check-packages").path

  /// True when the packages Scripts/test installs are here (dpkg can only name the
  /// package of a program that is installed).
  static let toolsInstalled: Bool = {
    ["/usr/bin/tshark", "/usr/bin/iperf3", "/usr/sbin/dnsmasq", "/usr/sbin/depmod"].allSatisfy {
      FileManager.default.isExecutableFile(atPath: $0)
    }
  }()

  /// Runs the check beside other end-to-end tests but never beside one that
  /// measures alone: it reads every package's file list and keeps a core busy.
  static func check(_ arguments: [String]) throws -> Harness.Result {
    var result: Harness.Result?
    try LabGate.shared.sharing { result = try Harness.run(script, arguments) }
    return try #require(result)
  }

  @Test(.enabled(if: toolsInstalled, "needs the test tools installed: sudo ./Scripts/test"))
  func everyCommandOfTheRepositoryComesFromAnInstalledPackage() throws {
    let result = try Self.check([])
    #expect(result.status == 0, "\(result.errors)")
    #expect(result.output.contains("0 problems"), "\(result.output)")
  }

  /// The case: guest-image calls depmod, and nothing installed kmod.
  @Test(.enabled(if: toolsInstalled, "needs the test tools installed: sudo ./Scripts/test"))
  func failsNamingDepmodAndKmodWhenNoScriptInstallsKmod() throws {
    let result = try Self.check(["--without", "kmod"])
    #expect(result.status == 1)
    let lines = result.errors.split(separator: "\n").map(String.init)
    #expect(
      lines.contains {
        $0.hasPrefix("check-packages: error: Scripts/guest-image:")
          && $0.contains("'depmod' comes from package kmod")
      }, "\(lines)")
    // Nothing else is reported: each problem is about kmod (this file's own look at
    // /usr/sbin/depmod is one, as the tests run after Scripts/guest-image installed kmod).
    #expect(!lines.isEmpty)
    #expect(lines.allSatisfy { $0.contains("package kmod") }, "\(lines)")
  }

  /// Commands are found in command position only (a case branch, a pipeline, $(...)),
  /// not in strings, array data or case patterns; a command from a package no script
  /// installs fails, one the script installs passes; a non-standard Python import fails.
  @Test(.enabled(if: toolsInstalled, "needs the test tools installed: sudo ./Scripts/test"))
  func readsCommandPositionsAndImportsOfAFixtureTree() throws {
    let root = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-check-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    try FileManager.default.createDirectory(
      at: root.appendingPathComponent("Scripts"), withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      at: root.appendingPathComponent("Tests/Support"), withIntermediateDirectories: true)
    try """
    #!/usr/bin/env bash
    ensure_packages iproute2
    TARGETS=(tshark virtio)
    echo "tshark is only named here" | grep -q tshark
    case "$1" in
      tshark|dnsmasq) ip link show | wc -l ;;
      *) count=$(tcpdump --version 2>&1 | head -n 1) ;;
    esac
    """.write(
      to: root.appendingPathComponent("Scripts/demo"), atomically: true, encoding: .utf8)
    try "ensure_packages() { :; }\n".write(
      to: root.appendingPathComponent("Scripts/lib.sh"), atomically: true, encoding: .utf8)
    try "import json\nimport scapy_not_installed\n".write(
      to: root.appendingPathComponent("Tests/Support/peer.py"), atomically: true, encoding: .utf8)
    let result = try Self.check(["--root", root.path])
    #expect(result.status == 1)
    let lines = result.errors.split(separator: "\n").map(String.init)
    #expect(lines.count == 2, "\(lines)")
    #expect(
      lines.contains {
        $0.hasPrefix(
          "check-packages: error: Scripts/demo:7: command 'tcpdump' comes from package tcpdump,")
      },
      "\(lines)")
    #expect(
      lines.contains {
        $0.hasPrefix(
          "check-packages: error: Tests/Support/peer.py:2: module 'scapy_not_installed' is not on this machine"
        )
      }, "\(lines)")
  }
}
