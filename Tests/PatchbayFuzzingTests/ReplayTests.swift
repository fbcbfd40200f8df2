import Foundation
import PatchbayFuzzing
import Testing

/// `Fuzz/` in the repository, found from this file's place in it.
private let fuzzDirectory = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("Fuzz")

/// The kept inputs of `target` in `kind` (`Seeds` or `Regressions`), sorted by name.
private func inputs(_ kind: String, of target: String) throws -> [URL] {
  let directory = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target)
  guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
  return try FileManager.default.contentsOfDirectory(
    at: directory, includingPropertiesForKeys: nil
  )
  .filter { !$0.lastPathComponent.hasPrefix(".") }
  .sorted { $0.lastPathComponent < $1.lastPathComponent }
}

/// Every input libFuzzer started from or found a crash with, run again through
/// the same entry points without sanitizers: a fixed crash stays fixed, and a
/// change that breaks a target's invariants on a known input fails here (by
/// trapping, as under the fuzzer) before anyone runs `Scripts/fuzz`.
@Suite struct ReplayTests {
  @Test(arguments: FuzzTarget.allCases)
  func keptInputsRunCleanly(_ target: FuzzTarget) throws {
    let seeds = try inputs("Seeds", of: target.rawValue)
    #expect(!seeds.isEmpty, "Fuzz/Seeds/\(target.rawValue) has no seeds")
    for file in try seeds + inputs("Regressions", of: target.rawValue) {
      let bytes = try Data(contentsOf: file)
      bytes.withUnsafeBytes { target.run($0) }
    }
  }

  @Test func everyKeptInputBelongsToATarget() throws {
    for kind in ["Seeds", "Regressions"] {
      let directory = fuzzDirectory.appendingPathComponent(kind)
      guard FileManager.default.fileExists(atPath: directory.path) else { continue }
      for name in try FileManager.default.contentsOfDirectory(atPath: directory.path)
      where !name.hasPrefix(".") {
        #expect(FuzzTarget(rawValue: name) != nil, "Fuzz/\(kind)/\(name) names no fuzz target")
      }
    }
  }
}
