import Logging
import PatchbayControl

/// One log message as a line of text or of JSON, the formats of the daemon's
/// log. The time and everything else come in as arguments, so the tests
/// compare exact bytes.
public enum LogLine {
  /// How the daemon's log lines look.
  public enum Format: String, Sendable, CaseIterable {
    /// `LABEL: LEVEL: MESSAGE key=value ... time=TIME`, for people.
    case text
    /// One JSON object a line with `time`, `level`, `label`, `message` and
    /// `metadata`, for log collectors.
    case json
  }

  /// The line (without its newline) for a message of `level` from `label`.
  /// Metadata keys are sorted, so a line never depends on a dictionary's order.
  public static func render(
    _ format: Format, time: LogTime, level: Logger.Level, label: String, message: String,
    metadata: Logger.Metadata
  ) -> String {
    switch format {
    case .text:
      // Read like the command's own diagnostics (`patchbay: warning: ...`);
      // the time goes last, as one more field.
      var line = "\(escapedText(label)): \(level): \(escapedText(message))"
      for key in metadata.keys.sorted() {
        line += " \(escapedText(key))=\(textValue(metadata[key]!))"
      }
      return line + " time=\(time.iso8601)"
    case .json:
      var line = "{\"time\":\(jsonString(time.iso8601)),\"level\":\(jsonString("\(level)"))"
      line += ",\"label\":\(jsonString(label)),\"message\":\(jsonString(message))"
      line += ",\"metadata\":\(jsonObject(metadata))}"
      return line
    }
  }

  // Text: a value with a space, quote, equals sign or control character is
  // written as a JSON string, so the line stays one line and splits on spaces.
  private static func textValue(_ value: Logger.MetadataValue) -> String {
    switch value {
    case .string(let text):
      let plain =
        !text.isEmpty
        && !text.unicodeScalars.contains {
          $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 || $0.value == 0x7F
        }
      return plain ? text : jsonString(text)
    case .stringConvertible(let convertible):
      return textValue(.string(convertible.description))
    case .array, .dictionary:
      return jsonValue(value)
    }
  }

  // Control characters (a newline in a message) become visible escapes: one
  // message is one line whatever it holds.
  private static func escapedText(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
      return text
    }
    let quoted = jsonString(text)
    return String(quoted.dropFirst().dropLast())
  }

  private static func jsonObject(_ metadata: Logger.Metadata) -> String {
    let members = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonValue(metadata[$0]!))" }
    return "{" + members.joined(separator: ",") + "}"
  }

  private static func jsonValue(_ value: Logger.MetadataValue) -> String {
    switch value {
    case .string(let text): return jsonString(text)
    case .stringConvertible(let convertible): return jsonString(convertible.description)
    case .array(let values): return "[" + values.map(jsonValue).joined(separator: ",") + "]"
    case .dictionary(let dictionary): return jsonObject(dictionary)
    }
  }

  /// `text` as a JSON string literal (the control socket's escaping).
  static func jsonString(_ text: String) -> String { JSONText.quoted(text) }
}
