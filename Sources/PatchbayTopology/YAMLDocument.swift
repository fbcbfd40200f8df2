import Yams

/// A composed YAML document whose mappings may hold repeated keys.
///
/// Yams 6 refuses a mapping with a repeated key (`YamlError.duplicatedKeysInMapping`) and stops
/// there, which would hide every other problem of the file. So `compose` renames the first
/// occurrence of each repeated key, in place, to a placeholder of the same length (private-use
/// characters, so every line and column stays where it was) and parses again. `keyText` maps a
/// placeholder back, and the loader reports the repetition itself with both locations.
struct YAMLDocument {
  /// The root node; nil for an empty document.
  var root: Node?
  /// Placeholder key text to the key text it replaced.
  var renamedKeys: [String: String]

  /// A YAML syntax problem at a 1-based line and column.
  struct SyntaxError: Error, Equatable {
    var message: String
    var line: Int
    var column: Int
  }

  /// The private-use block the placeholders come from; libyaml prints it as plain text.
  private static let placeholderBase: UInt32 = 0xE000
  private static let placeholderCount: UInt32 = 0x1000

  /// Composes `text`, working around Yams's refusal of repeated keys (see the type's comment).
  static func compose(_ text: String) -> Result<YAMLDocument, SyntaxError> {
    let usesPlaceholderBlock = text.unicodeScalars.contains {
      (placeholderBase..<placeholderBase + placeholderCount).contains($0.value)
    }
    var source = Array(text.unicodeScalars)
    var renamed: [String: String] = [:]
    while true {
      do {
        let root = try Yams.compose(
          yaml: String(String.UnicodeScalarView(source)), .default, .default, .utf8)
        return .success(YAMLDocument(root: root, renamedKeys: renamed))
      } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
        let key = duplicates.first ?? ""
        let line = context.mark.line
        let column = context.mark.column
        guard !usesPlaceholderBlock, renamed.count < Int(placeholderCount),
          let placeholder = renameKey(
            key, atLine: line, column: column, in: &source, number: UInt32(renamed.count))
        else {
          // Cannot find the key in the text (an alias, a complex key): report the one repeat
          // Yams names, at the first occurrence, rather than nothing.
          return .failure(
            SyntaxError(message: "duplicate key '\(key)'", line: line, column: column))
        }
        renamed[placeholder] = key
      } catch let error as YamlError {
        return .failure(syntaxError(error))
      } catch {
        return .failure(SyntaxError(message: "invalid YAML: \(error)", line: 1, column: 1))
      }
    }
  }

  /// The text of a mapping key as written, or nil when the key is not a scalar.
  func keyText(_ node: Node) -> String? {
    guard case .scalar(let scalar) = node else { return nil }
    return renamedKeys[scalar.string] ?? scalar.string
  }

  /// Replaces the key `key` written at `line:column` (plain or quoted) with a placeholder of
  /// the same length; returns the placeholder, or nil when the text there is not that key.
  private static func renameKey(
    _ key: String, atLine line: Int, column: Int, in source: inout [Unicode.Scalar], number: UInt32
  ) -> String? {
    guard let start = offset(ofLine: line, column: column, in: source) else { return nil }
    let keyScalars = Array(key.unicodeScalars)
    guard !keyScalars.isEmpty else { return nil }
    var length = keyScalars.count
    if source[start] == "'" || source[start] == "\"" {
      let quote = source[start]
      let end = start + 1 + keyScalars.count
      guard end < source.count, Array(source[(start + 1)..<end]) == keyScalars, source[end] == quote
      else { return nil }
      length += 2
    } else {
      let end = start + keyScalars.count
      guard end <= source.count, Array(source[start..<end]) == keyScalars else { return nil }
    }
    guard let first = Unicode.Scalar(placeholderBase + number),
      let filler = Unicode.Scalar(placeholderBase)
    else { return nil }
    let placeholder = [first] + Array(repeating: filler, count: length - 1)
    source.replaceSubrange(start..<(start + length), with: placeholder)
    return String(String.UnicodeScalarView(placeholder))
  }

  /// The scalar offset of 1-based `line:column`, counting line breaks as libyaml does.
  private static func offset(ofLine line: Int, column: Int, in source: [Unicode.Scalar]) -> Int? {
    var currentLine = 1
    var currentColumn = 1
    var index = 0
    while index < source.count {
      if currentLine == line && currentColumn == column { return index }
      let scalar = source[index]
      if scalar == "\r", index + 1 < source.count, source[index + 1] == "\n" {
        index += 1
      }
      if isLineBreak(scalar) {
        currentLine += 1
        currentColumn = 1
      } else {
        currentColumn += 1
      }
      index += 1
    }
    return nil
  }

  private static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
    ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains(scalar)
  }

  /// One diagnostic for a Yams parse failure, at the parser's mark.
  private static func syntaxError(_ error: YamlError) -> SyntaxError {
    func describe(_ problem: String, _ context: YamlError.Context?) -> String {
      guard let context else { return "invalid YAML: \(problem)" }
      return
        "invalid YAML: \(problem) (\(context.text) at \(context.mark.line):\(context.mark.column))"
    }
    switch error {
    case .scanner(let context, let problem, let mark, _),
      .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      return SyntaxError(message: describe(problem, context), line: mark.line, column: mark.column)
    case .reader(let problem, let offset, _, let yaml):
      let (line, column) = position(ofCharacter: offset ?? 0, in: yaml)
      return SyntaxError(message: "invalid YAML: \(problem)", line: line, column: column)
    default:
      return SyntaxError(message: "invalid YAML: \(error)", line: 1, column: 1)
    }
  }

  /// The 1-based line and column of the character at `offset` (characters, as Yams counts them).
  private static func position(ofCharacter offset: Int, in text: String) -> (Int, Int) {
    var line = 1
    var column = 1
    for character in text.prefix(offset) {
      if character.isNewline {
        line += 1
        column = 1
      } else {
        column += 1
      }
    }
    return (line, column)
  }
}
