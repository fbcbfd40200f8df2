/// Why a view could not be made over some bytes.
///
/// Views are checked when they are made, so a frame that parses can be read
/// field by field without further bounds checks.
public enum WireError: Error, Equatable, Sendable {
  /// Fewer bytes than the fixed header needs.
  case truncated
  /// A length or offset field points outside the buffer or below the minimum.
  case badLength
  /// A version, type or flag field holds a value the header does not allow.
  case malformed
}
