/// The one rule for lab names, applied by the loader to a topology's `name:`
/// and by the CLI to every NAME argument: a name becomes a path under
/// `/run/patchbay/` and a prefix of namespace and interface names, so `""`,
/// `.`, `..` or anything with a `/` must never reach them.
public enum LabNameRule {
  /// The longest lab name: it prefixes interface names, which the kernel caps at 15 bytes.
  public static let maximumLength = 10

  /// Why `name` is not a valid lab name (one line, without the file
  /// position), nil when it is one: `a-z`, `0-9` and `-`, starting with a
  /// letter or digit, at most `maximumLength` characters.
  public static func problem(with name: String) -> String? {
    let allowed = name.unicodeScalars.allSatisfy {
      ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
    }
    guard allowed, !name.isEmpty, name.first != "-" else {
      return "invalid lab name '\(name)': use a-z, 0-9 and '-', starting with a letter or digit"
    }
    guard name.count <= maximumLength else {
      return "lab name '\(name)' is longer than \(maximumLength) characters"
    }
    return nil
  }

  /// True when `name` follows the rule.
  public static func isValid(_ name: String) -> Bool { problem(with: name) == nil }
}
