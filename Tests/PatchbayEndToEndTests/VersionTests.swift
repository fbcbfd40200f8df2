import Foundation
import Testing

/// `patchbay --version`: one line, the constant in Sources/patchbay/PatchbayVersion.swift
/// (the one place the version is written; `Scripts/package` reads it from the binary).
@Suite struct VersionTests {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// The version the source says, read from the file rather than repeated here.
  static func sourceVersion() throws -> String {
    let source = try String(
      contentsOf: repository.appendingPathComponent("Sources/patchbay/PatchbayVersion.swift"),
      encoding: .utf8)
    let match = try #require(
      source.firstMatch(of: /static let current = "([0-9]+\.[0-9]+\.[0-9]+)"/))
    return String(match.1)
  }

  @Test func versionPrintsTheSourcesConstantAndNothingElse() throws {
    let version = try Self.sourceVersion()
    let result = try Harness.patchbay("--version")
    #expect(result.status == 0)
    #expect(result.output == "\(version)\n")
    #expect(result.errors.isEmpty)
  }
}
