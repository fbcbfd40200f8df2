import PatchbayWire
import Yams

// The mapping walk every section uses: entries, unknown and repeated keys, scalars, lists,
// and the checks on which keys go together.

extension Loader {
  mutating func error(_ message: String, at location: SourceLocation) {
    diagnostics.append(TopologyDiagnostic(location: location, message: message))
  }

  func location(of node: Node) -> SourceLocation {
    SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
  }

  /// The pairs of a mapping; an empty value counts as an empty mapping.
  mutating func pairs(of node: Node, what: String) -> [(Node, Node)]? {
    switch node {
    case .mapping(let mapping): return mapping.map { ($0.key, $0.value) }
    case _ where node.isNull: return []
    default:
      error("\(what) must be a mapping", at: location(of: node))
      return nil
    }
  }

  /// The pairs of a mapping with fixed keys, reporting unknown and repeated keys.
  mutating func fields(of node: Node, known: [String], context: String, what: String) -> [Entry] {
    uniqueEntries(
      of: node, what: what, notAName: "keys must be names, not lists or mappings",
      duplicate: { key, first in "duplicate key '\(key)' \(context) (first defined at \(first))" },
      refusal: { key in
        guard !known.contains(key) else { return nil }
        let hint = suggestion(for: key, among: known).map { "; did you mean '\($0)'?" } ?? ""
        return "unknown key '\(key)' \(context)\(hint)"
      })
  }

  /// The pairs of a mapping of names (`switches:`, `ports:`, `hosts:`...), reporting bad and
  /// repeated names.
  mutating func named(of node: Node, kind: String, scope: String = "", what: String) -> [Entry] {
    uniqueEntries(
      of: node, what: what, notAName: "\(kind) names must be names, not lists or mappings",
      duplicate: { name, first in "duplicate \(kind) '\(name)'\(scope) (first defined at \(first))"
      },
      refusal: { name in
        isValidName(name)
          ? nil
          : "invalid \(kind) name '\(name)': use letters, digits, '-', '_' and '.', "
            + "starting with a letter or digit"
      })
  }

  /// Walks a mapping's pairs once for `fields` and `named`: keys that are not
  /// scalars, repeated keys and keys `refusal` objects to are reported at the
  /// key; the rest become entries, in file order.
  private mutating func uniqueEntries(
    of node: Node, what: String, notAName: String,
    duplicate: (String, String) -> String, refusal: (String) -> String?
  ) -> [Entry] {
    guard let pairs = pairs(of: node, what: what) else { return [] }
    var seen: [String: SourceLocation] = [:]
    var entries: [Entry] = []
    for (keyNode, value) in pairs {
      let keyLocation = location(of: keyNode)
      guard let key = document.keyText(keyNode) else {
        error(notAName, at: keyLocation)
        continue
      }
      if let first = seen[key] {
        error(duplicate(key, first.short), at: keyLocation)
        continue
      }
      seen[key] = keyLocation
      if let message = refusal(key) {
        error(message, at: keyLocation)
        continue
      }
      entries.append(
        Entry(key: key, keyLocation: keyLocation, value: value, valueLocation: location(of: value)))
    }
    return entries
  }

  /// The text of a single-valued entry; reports lists, mappings and missing values.
  mutating func text(_ entry: Entry) -> String? {
    guard case .scalar(let scalar) = entry.value else {
      error("'\(entry.key)' must be a single value", at: entry.valueLocation)
      return nil
    }
    if entry.value.isNull {
      error("missing value for '\(entry.key)'", at: entry.keyLocation)
      return nil
    }
    return scalar.string
  }

  /// The items of a list entry; reports anything else.
  mutating func items(_ entry: Entry, of what: String) -> [Node]? {
    guard case .sequence(let sequence) = entry.value else {
      if entry.value.isNull {
        error("missing value for '\(entry.key)'", at: entry.keyLocation)
      } else {
        error("'\(entry.key)' must be a list of \(what)", at: entry.valueLocation)
      }
      return nil
    }
    return Array(sequence)
  }

  /// Parses an entry's text with `parse`, reporting `invalid KEY 'TEXT': REASON`.
  mutating func value<T>(
    _ entry: Entry, _ parse: (String) throws(ValueFormatError) -> T
  ) -> T? {
    guard let text = text(entry) else { return nil }
    do {
      return try parse(text)
    } catch {
      self.error("invalid \(entry.key) '\(text)': \(error.reason)", at: entry.valueLocation)
      return nil
    }
  }

  mutating func integer(_ entry: Entry, in range: ClosedRange<Int>) -> Int? {
    value(entry) { text throws(ValueFormatError) in
      guard text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let number = Int(text),
        range.contains(number)
      else {
        throw ValueFormatError(
          "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
      }
      return number
    }
  }

  mutating func bool(_ entry: Entry) -> Bool? {
    value(entry) { text throws(ValueFormatError) in
      switch text.lowercased() {
      case "true": return true
      case "false": return false
      default: throw ValueFormatError("expected true or false")
      }
    }
  }

  /// Reports `first` when `second` is also present, for keys that exclude each other.
  mutating func exclusive(_ keys: [String], in entries: [Entry], context: String, hint: String = "")
  {
    var first: Entry?
    for entry in entries where keys.contains(entry.key) {
      if let first {
        error(
          "'\(entry.key)' conflicts with '\(first.key)' \(context)\(hint)", at: entry.keyLocation)
      } else {
        first = entry
      }
    }
  }

  /// Reports `key` when it is present without `needed`.
  mutating func requires(_ key: String, _ needed: String, in entries: [Entry], context: String) {
    if let entry = entries.first(where: { $0.key == key }),
      !entries.contains(where: { $0.key == needed })
    {
      error("'\(key)' needs '\(needed)' \(context)", at: entry.keyLocation)
    }
  }

  mutating func requireKey(
    _ key: String, in entries: [Entry], context: String, at location: SourceLocation
  ) {
    if !entries.contains(where: { $0.key == key }) {
      error("missing required key '\(key)' \(context)", at: location)
    }
  }

  /// The entries of one named section (`hosts.h1`, `uplinks.net`, ...): unknown
  /// and repeated keys and missing `required` keys are reported; nil when the
  /// value is not a mapping (reported too: its missing keys would only be noise).
  mutating func section(_ item: Entry, kind: String, known: [String], required: [String])
    -> [Entry]?
  {
    let context = "in \(kind) '\(item.key)'"
    let entries = fields(
      of: item.value, known: known, context: context, what: "\(kind) '\(item.key)'")
    guard item.value.isMappingOrNull else { return nil }
    for key in required { requireKey(key, in: entries, context: context, at: item.keyLocation) }
    return entries
  }

  /// An entry's value if it is a non-empty scalar, reporting otherwise.
  mutating func singleValue(_ entry: Entry) -> Node? {
    text(entry) == nil ? nil : entry.value
  }
}
