/// Which frames of a port a capture takes.
public enum CaptureDirection: String, Sendable, CaseIterable {
  /// Received from the port.
  case `in`
  /// Sent to the port.
  case out
  /// Both.
  case both
}
