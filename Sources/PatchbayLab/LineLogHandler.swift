import Glibc
import Logging
import Synchronization

/// Where the daemon's log lines go: a file descriptor, written one whole
/// line per `write` under a lock, so lines from the control thread, capture
/// threads and the main thread never interleave.
///
/// A detached daemon's output moves to `daemon.log` only once its lab is
/// ready (its standard error is the pipe `up` reads until then), so it
/// starts `holding`: lines wait in memory, at most `heldLimit` of them, until
/// `release()` writes them and every later line straight through.
public final class LogOutput: Sendable {
  private struct State {
    var isHolding: Bool
    var held: [String] = []
    var droppedWhileHeld = 0
  }

  private let descriptor: Int32
  private let state: Mutex<State>
  /// The most lines held before `release()`; later ones are counted, not kept.
  public static let heldLimit = 1000

  /// Writes to `descriptor` (not owned: never closed), holding lines until
  /// `release()` when `holding`.
  public init(descriptor: Int32, holding: Bool = false) {
    self.descriptor = descriptor
    state = Mutex(State(isHolding: holding))
  }

  /// Writes `line` and a newline, or holds it.
  public func write(_ line: String) {
    state.withLock { state in
      if state.isHolding {
        if state.held.count < LogOutput.heldLimit {
          state.held.append(line)
        } else {
          state.droppedWhileHeld += 1
        }
        return
      }
      writeAll(line + "\n")
    }
  }

  /// Writes the held lines and stops holding.
  public func release() {
    state.withLock { state in
      guard state.isHolding else { return }
      state.isHolding = false
      for line in state.held { writeAll(line + "\n") }
      if state.droppedWhileHeld > 0 {
        writeAll("(\(state.droppedWhileHeld) log lines from set-up were not kept)\n")
      }
      state.held = []
    }
  }

  // A short write (a full disk, a signal) goes on from where it stopped; a
  // line that cannot be written is lost rather than blocking the daemon.
  private func writeAll(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    bytes.withUnsafeMutableBytes { buffer in
      while offset < buffer.count {
        let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        offset += written
      }
    }
  }
}

/// A swift-log `LogHandler` that writes each message as one line of text or
/// JSON (`LogLine`) to a `LogOutput`. Thread-safe: the handler is a value,
/// and the output serialises the writes.
public struct LineLogHandler: LogHandler {
  /// The logger's label (`patchbay`).
  public let label: String
  /// Text or JSON lines.
  public let format: LogLine.Format
  /// Where the lines go.
  public let output: LogOutput
  /// The time each line carries (the system's real-time clock, or a fixed
  /// one in tests).
  public let clock: @Sendable () -> LogTime
  /// Messages below this level are not written.
  public var logLevel: Logger.Level
  /// Metadata every message of this handler carries.
  public var metadata: Logger.Metadata = [:]
  /// Metadata added at each message, as swift-log's providers do.
  public var metadataProvider: Logger.MetadataProvider?

  /// A handler for `label` writing `format` lines at `level` and above to `output`.
  public init(
    label: String, format: LogLine.Format, level: Logger.Level, output: LogOutput,
    clock: @escaping @Sendable () -> LogTime = LogTime.now
  ) {
    self.label = label
    self.format = format
    self.logLevel = level
    self.output = output
    self.clock = clock
  }

  /// One metadata value of this handler.
  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  /// Writes the message as one line; the message's metadata wins over the
  /// provider's, which wins over the handler's.
  public func log(event: LogEvent) {
    var merged = metadata
    if let provided = metadataProvider?.get() {
      merged.merge(provided) { _, new in new }
    }
    if let own = event.metadata {
      merged.merge(own) { _, new in new }
    }
    output.write(
      LogLine.render(
        format, time: clock(), level: event.level, label: label, message: event.message.description,
        metadata: merged))
  }
}

extension Logger {
  /// A logger labelled `patchbay` writing `format` lines at `level` and above to `output`.
  public static func patchbay(
    level: Logger.Level, format: LogLine.Format, output: LogOutput
  ) -> Logger {
    Logger(label: "patchbay") { label in
      LineLogHandler(label: label, format: format, level: level, output: output)
    }
  }

  /// A logger that writes nothing (labs the tests build, which log nowhere).
  public static let silent = Logger(label: "patchbay") { _ in SwiftLogNoOpLogHandler() }
}
