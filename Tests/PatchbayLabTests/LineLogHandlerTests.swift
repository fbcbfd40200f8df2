import Foundation
import Glibc
import Logging
import Testing

@testable import PatchbayLab

/// Lines written through a `LogOutput` on a file of their own, read back whole.
final class CapturedLog {
  let path: String
  let descriptor: Int32
  let output: LogOutput

  init(holding: Bool = false) {
    path =
      FileManager.default.temporaryDirectory
      .appendingPathComponent("patchbay-daemon-log-\(UUID().uuidString)").path
    descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    output = LogOutput(descriptor: descriptor, holding: holding)
  }

  deinit {
    close(descriptor)
    unlink(path)
  }

  /// A logger at `level` writing `format` at a fixed time, 2025-12-02T07:00:00.123456789Z.
  func logger(_ level: Logger.Level, format: LogLine.Format = .text) -> Logger {
    Logger(label: "patchbay") { label in
      LineLogHandler(
        label: label, format: format, level: level, output: self.output,
        clock: { LogTime(seconds: 1_764_658_800, nanoseconds: 123_456_789) })
    }
  }

  /// Everything written so far.
  var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<unreadable>" }
}

@Suite struct LineLogHandlerTests {
  @Test func aTextLineHasTimeLevelLabelMessageAndSortedMetadata() {
    let log = CapturedLog()
    var logger = log.logger(.info)
    logger[metadataKey: "lab"] = "lab1"
    logger.info("lab lab1 up", metadata: ["ports": "3", "hosts": "2"])
    logger.notice("port core/far down", metadata: ["port": "core/far", "why": "gone away"])
    #expect(
      log.text == """
        patchbay: info: lab lab1 up hosts=2 lab=lab1 ports=3 time=2025-12-02T07:00:00.123Z
        patchbay: notice: port core/far down lab=lab1 port=core/far why="gone away" time=2025-12-02T07:00:00.123Z

        """)
  }

  @Test func aJSONLineIsOneObjectWithTheFiveFields() throws {
    let log = CapturedLog()
    var logger = log.logger(.debug, format: .json)
    logger[metadataKey: "lab"] = "lab1"
    logger.debug(
      "control: \"status\"\n", metadata: ["drops": ["runt": "4", "oversize": "2"], "list": ["a"]])
    let expected =
      #"{"time":"2025-12-02T07:00:00.123Z","level":"debug","label":"patchbay","#
      + #""message":"control: \"status\"\n","#
      + #""metadata":{"drops":{"oversize":"2","runt":"4"},"lab":"lab1","list":["a"]}}"#
    #expect(log.text == expected + "\n")
    let object = try #require(
      JSONSerialization.jsonObject(with: Data(log.text.utf8)) as? [String: Any])
    #expect(object["message"] as? String == "control: \"status\"\n")
  }

  @Test func messagesBelowTheLevelAreNotWritten() {
    let log = CapturedLog()
    let logger = log.logger(.warning)
    logger.trace("t")
    logger.debug("d")
    logger.info("i")
    logger.notice("n")
    logger.warning("w")
    logger.error("e")
    logger.critical("c")
    #expect(
      log.text == """
        patchbay: warning: w time=2025-12-02T07:00:00.123Z
        patchbay: error: e time=2025-12-02T07:00:00.123Z
        patchbay: critical: c time=2025-12-02T07:00:00.123Z

        """)
  }

  @Test func aNewlineOrControlCharacterNeverStartsASecondLine() {
    let log = CapturedLog()
    let logger = log.logger(.info)
    logger.info("two\nlines\u{1B}[2J", metadata: ["name": "a\nb"])
    #expect(
      log.text
        == #"patchbay: info: two\nlines\u001b[2J name="a\nb" time=2025-12-02T07:00:00.123Z"# + "\n")
  }

  @Test func aHoldingOutputWritesNothingUntilReleasedThenEverythingInOrder() {
    let log = CapturedLog(holding: true)
    let logger = log.logger(.info)
    logger.info("building")
    logger.info("up")
    #expect(log.text == "")
    log.output.release()
    logger.info("after")
    #expect(
      log.text == """
        patchbay: info: building time=2025-12-02T07:00:00.123Z
        patchbay: info: up time=2025-12-02T07:00:00.123Z
        patchbay: info: after time=2025-12-02T07:00:00.123Z

        """)
  }

  @Test func linesFromManyThreadsNeverInterleave() {
    let log = CapturedLog()
    let logger = log.logger(.info)
    DispatchQueue.concurrentPerform(iterations: 8) { thread in
      for line in 0..<200 {
        logger.info("thread \(thread) line \(line) \(String(repeating: "x", count: 300))")
      }
    }
    let lines = log.text.split(separator: "\n")
    #expect(lines.count == 1600)
    let padding = String(repeating: "x", count: 300)
    #expect(
      lines.allSatisfy {
        $0.hasPrefix("patchbay: info: thread ")
          && $0.hasSuffix(padding + " time=2025-12-02T07:00:00.123Z")
      })
  }

  @Test func timesAreUTCToTheMillisecond() {
    #expect(LogTime(seconds: 0, nanoseconds: 0).iso8601 == "1970-01-01T00:00:00.000Z")
    #expect(
      LogTime(seconds: 951_825_599, nanoseconds: 999_999_999).iso8601 == "2000-02-29T11:59:59.999Z")
  }
}
