/// JSON written by hand where a line's exact bytes matter (log lines, the
/// problems of `validate --json`), so that their order and spacing are fixed
/// and not whatever an encoder chooses.
public enum JSONText {
  /// `text` as a JSON string literal: quotes, backslashes and control
  /// characters escaped (a guest's or a file's text can never end the string
  /// or the line early), everything else as it is (UTF-8).
  public static func quoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case _ where scalar.value < 0x20 || scalar.value == 0x7F:
        let hex = String(scalar.value, radix: 16)
        result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result + "\""
  }
}
