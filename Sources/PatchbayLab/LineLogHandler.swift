import Logging

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
