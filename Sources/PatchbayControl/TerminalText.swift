/// Strings that reach a terminal from outside the lab's owner — a guest's DHCP
/// host name, an interface name read back, anything a daemon echoes — made
/// safe to print: a control character (ESC, CR, BEL, the C1 range, DEL) or
/// another character that prints nothing or reorders the text (format
/// characters such as U+202E, separators, private or unassigned code points)
/// is shown as an escape, so it can neither move the cursor, clear the screen
/// nor retitle the window, and the reader sees that it was there.
///
/// A backslash is left as it is, so escaping is idempotent: the CLI escapes
/// table cells (for the widths) and again whole lines, and nothing doubles.
/// The text is for reading; `--json` is for parsing.
public enum TerminalText {
  /// `text` with every unprintable character as `\xNN` (below U+0100) or
  /// `\u{NNNN}`; everything else, letters of any script included, unchanged.
  public static func escaped(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: needsEscape) else { return text }
    var result = ""
    result.reserveCapacity(text.utf8.count + 8)
    for scalar in text.unicodeScalars {
      guard needsEscape(scalar) else {
        result.unicodeScalars.append(scalar)
        continue
      }
      result += escape(scalar)
    }
    return result
  }

  /// `text` escaped line by line: its newlines stay newlines.
  public static func escapedLines(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false)
      .map { escaped(String($0)) }.joined(separator: "\n")
  }

  /// JSON text (as `JSONEncoder` writes it) with every unprintable character
  /// inside its strings written as a `\uNNNN` escape, so the document stays
  /// valid JSON, decodes to the same values, and prints nothing a terminal
  /// acts on. The newlines and spaces of pretty-printing are kept.
  public static func jsonSafe(_ json: String) -> String {
    guard
      json.unicodeScalars.contains(where: { needsEscape($0) && $0 != "\n" && $0 != "\t" })
    else { return json }
    var result = ""
    for scalar in json.unicodeScalars {
      // Outside a string JSON has only ASCII punctuation, digits, letters and
      // whitespace, so any other unprintable character is inside one.
      guard needsEscape(scalar), scalar != "\n", scalar != "\t" else {
        result.unicodeScalars.append(scalar)
        continue
      }
      for unit in String(scalar).utf16 {
        result += "\\u" + hex(UInt32(unit), digits: 4)
      }
    }
    return result
  }

  /// True for a character a terminal may act on or that does not print as itself.
  static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator,
      .paragraphSeparator:
      return true
    default:
      return false
    }
  }

  private static func escape(_ scalar: Unicode.Scalar) -> String {
    scalar.value < 0x100
      ? "\\x" + hex(scalar.value, digits: 2) : "\\u{" + hex(scalar.value, digits: 4) + "}"
  }

  private static func hex(_ value: UInt32, digits: Int) -> String {
    let text = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
  }
}
