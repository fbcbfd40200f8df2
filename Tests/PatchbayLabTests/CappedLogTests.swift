import CLinuxNet
import Foundation
import Glibc
import Testing

@testable import PatchbayLab

@Suite struct CappedLogTests {
  /// A fresh folder for one test's logs, removed at the end.
  private func withFolder(_ body: (String) throws -> Void) throws {
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-log-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try body(folder)
  }

  private func size(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1
  }

  @Test func aLogNeverHoldsMoreThanItsCapPlusOneRotatedFile() throws {
    try withFolder { folder in
      let path = folder + "/v1.console"
      let log = try CappedLog(path: path, cap: 8192)
      // 1 MiB in numbered lines, in writes of every size up to 3000 bytes.
      var text = ""
      for line in 0..<80_000 { text += "line \(line)\n" }
      let bytes = Array(text.utf8)
      var offset = 0
      var chunk = 1
      while offset < bytes.count {
        let end = min(bytes.count, offset + chunk)
        bytes[offset..<end].withUnsafeBytes { log.append($0) }
        offset = end
        chunk = chunk % 3000 + 7
      }
      #expect(size(path) <= 8192 && size(path + ".1") == 8192)
      let current = try String(contentsOfFile: path, encoding: .utf8)
      let previous = try String(contentsOfFile: path + ".1", encoding: .utf8)
      // The newest output is at the end, the part before it in .1, and the
      // rotation says what went: everything but the two files' bytes.
      #expect(current.hasSuffix("line 79999\n"))
      let note = try #require(current.split(separator: "\n").first)
      #expect(
        note.hasPrefix(
          "[patchbay: this log keeps at most 8192 bytes; the 8192 before this line are in v1.console.1, "
        ))
      let kept = current.utf8.count - note.utf8.count - 1 + previous.utf8.count
      #expect(log.discarded > 0)
      // What the files keep and what was discarded add up to what was written
      // (the notes inside .1 are the daemon's, not the program's).
      let notesInPrevious = previous.split(separator: "\n").filter { $0.hasPrefix("[patchbay:") }
      let noteBytes = notesInPrevious.reduce(0) { $0 + $1.utf8.count + 1 }
      #expect(
        kept - noteBytes <= bytes.count && bytes.count - (kept - noteBytes) <= Int(log.discarded))
      // The seam: the line cut by the last rotation joins up, and the next follows it.
      let after = current.split(separator: "\n").dropFirst().map(String.init)
      let previousLines = previous.split(separator: "\n").map(String.init)
      let cut = !previous.hasSuffix("\n")
      let joined = (previousLines.last ?? "") + (cut ? after[0] : "")
      let next = cut ? after[1] : after[0]
      let number = try #require(Int(joined.dropFirst("line ".count)), "\(joined)")
      #expect(next == "line \(number + 1)", "\(joined) | \(next)")
    }
  }

  @Test func aLogUnderItsCapIsKeptWhole() throws {
    try withFolder { folder in
      let path = folder + "/h1.log"
      let log = try CappedLog(path: path, cap: 1 << 20)
      log.append("hello\n")
      log.append("world\n")
      #expect(try String(contentsOfFile: path, encoding: .utf8) == "hello\nworld\n")
      #expect(size(path + ".1") == 0 && log.discarded == 0)
    }
  }

  @Test func aSymlinkInPlaceOfTheLogIsNotFollowed() throws {
    try withFolder { folder in
      let target = folder + "/precious"
      try Data("keep me".utf8).write(to: URL(fileURLWithPath: target))
      symlink(target, folder + "/v1.console")
      #expect(throws: LabError.self) { try CappedLog(path: folder + "/v1.console", cap: 4096) }
      #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep me")
    }
  }

  @Test func aPumpCopiesAProgramsOutputThroughTheCap() throws {
    try withFolder { folder in
      let path = folder + "/h1.log"
      let pump = try LogPump(log: try CappedLog(path: path, cap: 4096), label: "host h1")
      let result = withArgumentVector([
        "/bin/sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x; echo; echo last-line",
      ]) {
        pb_spawn($0, pump.writeEnd)
      }
      #expect(result > 0)
      var status: Int32 = 0
      waitpid(result, &status, 0)
      pump.drain()
      #expect(size(path) <= 4096 && size(path + ".1") <= 4096)
      #expect(try String(contentsOfFile: path, encoding: .utf8).hasSuffix("\nlast-line\n"))
      #expect(pump.log.discarded > 1_000_000 - 3 * 4096)
    }
  }
}
