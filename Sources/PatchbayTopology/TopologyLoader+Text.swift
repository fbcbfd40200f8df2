import PatchbayWire
import Yams

// Small helpers on source locations, YAML nodes and text that the loader's sections share.

extension SourceLocation {
  /// `LINE:COL`, for "first defined at" notes within the same file.
  var short: String { "\(line):\(column)" }
}

extension Node {
  /// True for a mapping or an empty value (which stands for an empty mapping).
  var isMappingOrNull: Bool { mapping != nil || isNull }

  /// True for an empty value, `~` or `null`, written plain.
  var isNull: Bool {
    guard case .scalar(let scalar) = self, scalar.style == .plain || scalar.style == .any else {
      return false
    }
    return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
  }
}

extension Unicode.Scalar {
  var isASCIIAlphanumeric: Bool {
    ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
  }
}

extension StringProtocol {
  var trimmingSpaces: Substring {
    let text = Substring(self)
    let start = text.firstIndex { !$0.isWhitespace } ?? text.endIndex
    let end = text.lastIndex { !$0.isWhitespace }.map { text.index(after: $0) } ?? start
    return text[start..<end]
  }
}
