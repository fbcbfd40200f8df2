import ArgumentParser
import Logging
import PatchbayLab

/// `--log-level`'s value: one of swift-log's levels by name.
struct LogLevelArgument: ExpressibleByArgument {
  /// The level.
  let level: Logger.Level

  init(_ level: Logger.Level) { self.level = level }

  init?(argument: String) {
    guard let level = Logger.Level(rawValue: argument) else { return nil }
    self.level = level
  }

  var defaultValueDescription: String { "\(level)" }

  static var allValueStrings: [String] { Logger.Level.allCases.map(\.rawValue) }
}

/// `--log-format`'s value: `text` or `json`.
struct LogFormatArgument: ExpressibleByArgument {
  /// The format.
  let format: LogLine.Format

  init(_ format: LogLine.Format) { self.format = format }

  init?(argument: String) {
    guard let format = LogLine.Format(rawValue: argument) else { return nil }
    self.format = format
  }

  var defaultValueDescription: String { format.rawValue }

  static var allValueStrings: [String] { LogLine.Format.allCases.map(\.rawValue) }
}
