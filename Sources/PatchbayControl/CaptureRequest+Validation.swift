extension CaptureRequest {
  /// The largest snaplen (tcpdump's), and what a snaplen of 0 stands for on the CLI.
  public static let maximumSnaplen = 262_144
  /// The most ports one capture takes.
  public static let maximumPorts = 256
  /// The longest filter expression, in bytes.
  public static let maximumFilterBytes = 8192

  /// What is wrong with the request as the daemon would act on it, one
  /// line; nil when every field is in range. Checked before anything
  /// starts, since the datapath trusts a capture's snaplen to size the
  /// blocks it writes.
  public var problem: String? {
    if ports.isEmpty { return "a capture needs at least one port" }
    if ports.count > CaptureRequest.maximumPorts {
      return "too many ports (\(ports.count)): at most \(CaptureRequest.maximumPorts)"
    }
    guard (1...CaptureRequest.maximumSnaplen).contains(snaplen) else {
      return "invalid snaplen \(snaplen): must be from 1 to \(CaptureRequest.maximumSnaplen)"
    }
    if let count, count < 1 { return "invalid count \(count): must be at least 1" }
    guard ["in", "out", "both"].contains(direction) else {
      return "invalid direction '\(direction.prefix(64))': use in, out or both"
    }
    if let filter, filter.utf8.count > CaptureRequest.maximumFilterBytes {
      return
        "filter too long (\(filter.utf8.count) bytes): at most \(CaptureRequest.maximumFilterBytes)"
    }
    return nil
  }
}
