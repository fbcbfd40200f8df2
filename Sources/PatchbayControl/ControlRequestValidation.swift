/// The bounds a control request must keep before the daemon acts on it. The
/// socket is root's, but what arrives on it is still bytes from another
/// process: every field is checked here, in the daemon, whatever the CLI
/// checked already, and a request out of bounds is answered with an error.
/// That a named switch or port exists is the handler's check (it knows the lab).
public enum ControlRequestLimits {
  /// The longest switch name, in bytes.
  public static let nameBytes = 64
  /// The longest `SWITCH/PORT`, in bytes.
  public static let portBytes = 2 * nameBytes + 1
  /// The most `setRate` settings in one request.
  public static let settings = 16
  /// The longest setting (`ingress=100mbit`), in bytes.
  public static let settingBytes = 64
  /// The most ports one capture may name.
  public static let capturePorts = 64
  /// The longest capture filter, in bytes.
  public static let filterBytes = 4096
  /// The snaplens a capture may ask for (tcpdump's largest at most).
  public static let snaplens = 1...262_144
  /// The frame counts a capture may stop after.
  public static let counts = 1...(1 << 40)
  /// The directions a capture may take.
  public static let directions = ["in", "out", "both"]
}

extension ControlRequest {
  /// Why this request is out of bounds (one line, its values escaped and
  /// shortened), nil when every field its command carries is in bounds. A
  /// missing field never gets here: such a request cannot be made, and one
  /// decoded short of a field is refused as it is decoded.
  public var validationProblem: String? {
    switch self {
    case .status, .shutdown, .nat:
      return nil
    case .fdb(let switchName):
      guard let switchName else { return nil }
      return Self.nameProblem(switchName, field: "switch name")
    case .setRate(let port, let settings):
      if let problem = Self.portProblem(port) { return problem }
      guard settings.count <= ControlRequestLimits.settings else {
        return "too many settings (\(settings.count); at most \(ControlRequestLimits.settings))"
      }
      for setting in settings {
        if let problem = Self.textProblem(
          setting, field: "setting", bytes: ControlRequestLimits.settingBytes)
        {
          return problem
        }
      }
      return nil
    case .capture(let capture):
      return capture.validationProblem
    }
  }

  /// A printable name of at most `ControlRequestLimits.nameBytes` bytes.
  static func nameProblem(_ text: String, field: String) -> String? {
    textProblem(text, field: field, bytes: ControlRequestLimits.nameBytes)
  }

  /// `SWITCH/PORT`, printable, of bounded length.
  static func portProblem(_ text: String) -> String? {
    textProblem(text, field: "port", bytes: ControlRequestLimits.portBytes)
  }

  /// Why `text` is empty, too long or holds an unprintable character.
  static func textProblem(_ text: String, field: String, bytes: Int) -> String? {
    if text.isEmpty { return "empty \(field)" }
    if text.utf8.count > bytes {
      return "\(field) '\(shortened(text))' is longer than \(bytes) bytes"
    }
    if text.unicodeScalars.contains(where: TerminalText.needsEscape) {
      return "invalid \(field) '\(shortened(text))': it holds control characters"
    }
    return nil
  }

  /// The first 32 characters of `text`, escaped, for an error line.
  static func shortened(_ text: String) -> String {
    let head = TerminalText.escaped(String(text.prefix(32)))
    return text.count > 32 ? head + "..." : head
  }
}

extension CaptureRequest {
  /// Why this capture request is out of bounds, nil when it is in bounds.
  public var validationProblem: String? {
    guard !ports.isEmpty else { return "a capture needs at least one port" }
    guard ports.count <= ControlRequestLimits.capturePorts else {
      return "too many ports (\(ports.count); at most \(ControlRequestLimits.capturePorts))"
    }
    for port in ports {
      if let problem = ControlRequest.portProblem(port) { return problem }
    }
    if let filter {
      guard filter.utf8.count <= ControlRequestLimits.filterBytes else {
        return "filter is longer than \(ControlRequestLimits.filterBytes) bytes"
      }
      // Whitespace may break a long expression; nothing else unprintable belongs in one.
      let unprintable = filter.unicodeScalars.contains {
        TerminalText.needsEscape($0) && !["\t", "\n", "\r"].contains($0)
      }
      guard !unprintable else {
        return "invalid filter: it holds control characters"
      }
    }
    guard ControlRequestLimits.snaplens.contains(snaplen) else {
      return
        "invalid snaplen \(snaplen): must be from \(ControlRequestLimits.snaplens.lowerBound) to \(ControlRequestLimits.snaplens.upperBound)"
    }
    guard ControlRequestLimits.directions.contains(direction) else {
      return
        "invalid direction '\(ControlRequest.shortened(direction))': use in, out or both"
    }
    if let count, !ControlRequestLimits.counts.contains(count) {
      return
        "invalid count \(count): must be from 1 to \(ControlRequestLimits.counts.upperBound)"
    }
    return nil
  }
}
